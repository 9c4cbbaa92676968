"""Three stores (Munich and Augsburg 56 km apart, Berlin far away), a catalog and stock
(tests/central/inventory/helpers.py); reading a store's feed back; and applying deltas
to a snapshot in plain Python, as a device would."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from central_api.domain.staff.staff import remove_member, set_member
from central_api.domain.store_feed.feed import Advanced, advance
from central_api.domain.store_feed.sources import FeedSettings
from central_api.imports import catalog, stock, stores
from central_api.store.db import write_transaction
from central_api.store.feed_tables import store_deltas, store_snapshots
from edge_sync.protocol.store_data import parse_delta, parse_snapshot
from tests.central.inventory.helpers import (
    CATALOG,
    CATALOG_HEADER,
    STOCK,
    STOCK_HEADER,
    STORE_HEADER,
    STORES,
    T0,
    csv,
    run,
    seed,
)

SETTINGS = FeedSettings(nearby_km=100.0, nearby_max=5, no_show_days=7)
__all__ = [
    "CATALOG",
    "CATALOG_HEADER",
    "STOCK",
    "STOCK_HEADER",
    "STORES",
    "STORE_HEADER",
    "T0",
    "catalog",
    "csv",
    "run",
    "seed",
    "stock",
    "stores",
]  # fmt: skip


def step(engine: Engine, store_id: str, at: int = 0) -> Advanced | None:
    return advance(engine, store_id, T0 + timedelta(minutes=at), SETTINGS)


def import_stock(engine: Engine, rows: list[list[str]], at: int) -> None:
    run(engine, stock.KIND, csv(STOCK_HEADER, rows), at=at)


def set_staff(engine: Engine, store: str, staff_id: str, name: str, pin: str) -> bool:
    with write_transaction(engine) as conn:
        return set_member(conn, store, staff_id, name, pin, T0)[1]


def remove_staff(engine: Engine, store: str, staff_id: str) -> None:
    with write_transaction(engine) as conn:
        remove_member(conn, store, staff_id, T0)


def snapshot_bytes(engine: Engine, store_id: str, version: int) -> bytes:
    s = store_snapshots.c
    with engine.connect() as conn:
        body = conn.scalar(select(s.body).where(s.store_id == store_id, s.version == version))
    assert body is not None, f"no snapshot {store_id} v{version}"
    return gzip.decompress(body)


def snapshot_versions(engine: Engine, store_id: str) -> list[int]:
    s = store_snapshots.c
    with engine.connect() as conn:
        q = select(s.version).where(s.store_id == store_id).order_by(s.version)
        return list(conn.scalars(q))


def delta_changes(engine: Engine, store_id: str, to_version: int) -> list[list[Any]] | None:
    """The delta's changes (checked as a device checks them), or None when none was kept."""
    d = store_deltas.c
    with engine.connect() as conn:
        body = conn.scalar(select(d.body).where(d.store_id == store_id, d.to_version == to_version))
    if body is None:
        return None
    delta = parse_delta(body, store_id)
    assert delta.checksum_ok and delta.to_version == to_version
    assert delta.from_version == to_version - 1
    return delta.changes


def delta_pickups(engine: Engine, store_id: str, to_version: int) -> tuple[list, str] | None:
    """The orders due the delta carries and its built_at, or None when it carries none."""
    d = store_deltas.c
    with engine.connect() as conn:
        body = conn.scalar(select(d.body).where(d.store_id == store_id, d.to_version == to_version))
    assert body is not None, f"no delta {store_id} v{to_version}"
    delta = parse_delta(body, store_id)
    if delta.pickups is None:
        return None
    assert delta.built_at is not None
    return delta.pickups, delta.built_at


def content(body: bytes, store_id: str) -> dict[str, Any]:
    """What a device holds after loading the snapshot, keyed so order does not matter."""
    s = parse_snapshot(body, store_id)
    return {
        "store": s.store,
        "products": {p[0]: p for p in s.products},
        "stock": {r[0]: r for r in s.stock},
        "nearby_stores": {n["id"]: n for n in s.nearby_stores},
        "nearby_stock": {(r[0], r[1]): r for r in s.nearby_stock},
        "staff": {m["staff_id"]: m for m in s.staff},
        "pickups": {o["order_id"]: o for o in s.pickups},
    }


def apply(
    state: dict[str, Any], changes: list[list[Any]], pickups: list[Any] | None = None
) -> dict[str, Any]:
    """``changes`` applied to a copy of ``state`` (``content``'s form), op by op; then
    the orders due, when the delta carries them (``delta_pickups``), replace the list."""
    out = json.loads(json.dumps({k: v for k, v in state.items() if k != "nearby_stock"}))
    out["nearby_stock"] = dict(state["nearby_stock"])
    if pickups is not None:
        out["pickups"] = {o["order_id"]: o for o in pickups}
    for op, *rest in changes:
        if op == "p":
            out["products"][rest[0]] = rest
        elif op == "s":
            out["stock"][rest[0]] = rest
        elif op == "s-":
            del out["stock"][rest[0]]
        elif op == "n":
            out["nearby_stock"][(rest[0], rest[1])] = rest
        elif op == "n-":
            del out["nearby_stock"][(rest[0], rest[1])]
        elif op == "ns":
            out["nearby_stores"][rest[0]["id"]] = rest[0]
        elif op == "ns-":
            del out["nearby_stores"][rest[0]]
            out["nearby_stock"] = {k: v for k, v in out["nearby_stock"].items() if k[0] != rest[0]}
        elif op == "store":
            out["store"] = rest[0]
        elif op == "staff":
            out["staff"][rest[0]["staff_id"]] = rest[0]
        elif op == "staff-":
            del out["staff"][rest[0]]
        else:
            raise AssertionError(op)
    return out


def ops(changes: list[list[Any]] | None) -> list[str]:
    return sorted({c[0] for c in changes or []})
