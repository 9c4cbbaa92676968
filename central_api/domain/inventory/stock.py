"""Stock per (store, SKU): replaced store by store, and read as availability.

A stock file states the whole stock of each store it names: a SKU of that store that
the file does not list is no longer stocked there. Its row is kept as a tombstone
(quantity 0, ``removed_at`` set) at the store's new version, so the change can reach
the store's kiosks like any other; stores the file does not name are not touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from ...store.inventory_tables import products, stock, stores
from ...store.sql import chunks
from .records import StockLevel, UnknownRefs
from .writes import Diff, read_by_key, write

State = Literal["in_stock", "low", "out"]


@dataclass(frozen=True, slots=True)
class Replaced:
    rows: int
    stores: int
    created: int
    updated: int
    unchanged: int
    #: rows of these stores the file no longer lists (now tombstones)
    removed: int
    #: store id → its stock version after the import
    versions: dict[str, int]


def _lock_stores(conn: Connection, ids: Sequence[str]) -> dict[str, int]:
    """``{store id: stock version}`` of the named stores that exist, locked (sorted, so
    two imports lock in the same order) until the transaction ends."""
    out: dict[str, int] = {}
    for part in chunks(sorted(ids), 5000):
        q = select(stores.c.id, stores.c.stock_version).where(stores.c.id.in_(part))
        q = q.order_by(stores.c.id).with_for_update()
        out.update({r.id: r.stock_version for r in conn.execute(q)})
    return out


def replace_stock(conn: Connection, items: Sequence[StockLevel], now: datetime) -> Replaced:
    """Make the stock of every store in ``items`` (keys unique among them) what
    ``items`` says (see the module's docstring). ``UnknownRefs`` when a store or SKU
    is not known: nothing is written."""
    by_store: dict[str, dict[str, tuple[int, int]]] = {}
    for s in items:
        by_store.setdefault(s.store_id, {})[s.sku] = (s.quantity, s.low_threshold)
    versions = _lock_stores(conn, list(by_store))
    skus = {s.sku for s in items}
    known = read_by_key(conn, products, "sku", skus, [])
    if len(versions) < len(by_store) or len(known) < len(skus):
        raise UnknownRefs(set(by_store) - set(versions), skus - set(known))
    after: dict[str, int] = {}
    counts = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0}
    c = stock.c
    for store_id in sorted(by_store):
        rows = by_store[store_id]
        q = select(c.sku, c.quantity, c.low_threshold, c.removed_at).where(c.store_id == store_id)
        stored = {r.sku: r for r in conn.execute(q)}
        d, gone = Diff(), Diff()
        for sku, (qty, thr) in rows.items():
            have = stored.get(sku)
            row = {"store_id": store_id, "sku": sku, "quantity": qty, "low_threshold": thr}
            if have is None:
                d.new.append(row)
            elif have.removed_at is None and (have.quantity, have.low_threshold) == (qty, thr):
                d.unchanged += 1
            else:
                d.changed.append({**row, "removed_at": None})
        for sku, have in stored.items():
            if sku not in rows and have.removed_at is None:
                gone.changed.append(
                    {"store_id": store_id, "sku": sku, "quantity": 0, "removed_at": now}
                )
        version = versions[store_id]
        if d or gone:
            version += 1
            stamp = {"version": version, "updated_at": now}
            write(conn, stock, ["store_id", "sku"], d, stamp, new_only={"removed_at": None})
            write(conn, stock, ["store_id", "sku"], gone, stamp)
        conn.execute(
            stores.update()
            .where(stores.c.id == store_id)
            .values(stock_version=version, stock_as_of=now)
        )
        after[store_id] = version
        counts["created"] += len(d.new)
        counts["updated"] += len(d.changed)
        counts["unchanged"] += d.unchanged
        counts["removed"] += len(gone.changed)
    return Replaced(len(items), len(by_store), versions=after, **counts)


def state_of(quantity: int, low_threshold: int) -> State:
    """Out at 0; low from 1 up to the threshold (inclusive); in stock above it."""
    if quantity <= 0:
        return "out"
    return "low" if quantity <= low_threshold else "in_stock"


def availability(
    conn: Connection, sku: str, store_rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``sku`` at each of ``store_rows`` (as ``stores.list_stores`` returns them), in
    their order: its state, and the exact quantity only where the store shows it. A SKU
    a store does not stock (no row, or a tombstone) is ``out`` with ``stocked`` false."""
    ids = [s["id"] for s in store_rows]
    c = stock.c
    levels: dict[str, Any] = {}
    for part in chunks(ids, 5000):
        q = select(c.store_id, c.quantity, c.low_threshold, c.updated_at, c.removed_at).where(
            c.sku == sku, c.store_id.in_(part)
        )
        levels.update({r.store_id: r for r in conn.execute(q)})
    out = []
    for s in store_rows:
        r = levels.get(s["id"])
        stocked = r is not None and r.removed_at is None
        out.append(
            {
                "store_id": s["id"],
                "state": state_of(r.quantity, r.low_threshold) if stocked else "out",
                "stocked": stocked,
                "quantity": (r.quantity if stocked else 0) if s["show_exact_stock"] else None,
                "as_of": s["stock_as_of"],
            }
        )
    return out
