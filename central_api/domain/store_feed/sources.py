"""What a store's feed is made of, read from the inventory, and the change ops between
what a feed last sent and what the inventory holds now.

The feed keeps cursors instead of a change log: the catalog's version, the store's own
stock version, the staff counter, and (as ``state``) the store's own record, each
nearby store's record and stock version, and a hash of the orders due for pickup. Rows with a version above a cursor are what
changed; records are compared whole (a nearby store's ``stock_as_of`` and distance
included).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from edge_sync.protocol import format_ts
from edge_sync.protocol.store_data import PRODUCT_FIELDS, STORE_FIELDS, canonical

from ...store.feed_tables import staff
from ...store.inventory_tables import inventory_versions, products, stock
from ...store.order_tables import order_records
from ...store.sql import chunks
from ..inventory.stores import get_store, stores_within
from ..orders.model import READY


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """``[inventory] nearby_km``, ``nearby_max``; ``[orders] no_show_days``."""

    nearby_km: float = 25.0
    nearby_max: int = 5
    no_show_days: int = 7


@dataclass(frozen=True, slots=True)
class Sources:
    catalog_version: int
    stock_version: int
    staff_version: int
    #: STORE_FIELDS of the store itself
    store: dict[str, Any]
    #: nearest first: id → [stock version, NEARBY_STORE_FIELDS]
    nearby: dict[str, list[Any]]
    #: the sha256 of the store's orders due for pickup (ids and revisions)
    pickups: str

    @property
    def state(self) -> dict[str, Any]:
        return {"store": self.store, "nearby": self.nearby, "pickups": self.pickups}


def store_record(row: dict[str, Any]) -> dict[str, Any]:
    """A store as the wire carries it (``STORE_FIELDS``)."""
    rec = {f: row[f] for f in STORE_FIELDS}
    rec["stock_as_of"] = format_ts(row["stock_as_of"]) if row["stock_as_of"] else None
    return rec


def read_sources(conn: Connection, store_id: str, settings: FeedSettings) -> Sources:
    """``UnknownStore`` when the store is gone."""
    row = get_store(conn, store_id)
    v = inventory_versions.c
    catalog = conn.scalar(select(v.version).where(v.scope == "catalog"))
    staff_v = conn.scalar(select(func.max(staff.c.version)).where(staff.c.store_id == store_id))
    nearby: dict[str, list[Any]] = {}
    if settings.nearby_max > 0:
        found = stores_within(
            conn, row["latitude"], row["longitude"], settings.nearby_km, exclude=store_id
        )
        for n in found[: settings.nearby_max]:
            rec = {**store_record(n.store), "distance_km": round(n.distance_km, 3)}
            nearby[n.store["id"]] = [n.store["stock_version"], rec]
    return Sources(int(catalog or 0), row["stock_version"], int(staff_v or 0),
                   store_record(row), nearby, pickups_key(conn, store_id))  # fmt: skip


def pickups_key(conn: Connection, store_id: str) -> str:
    """Changes when an order becomes due at the store, changes or stops being due.

    Pickups have no delta op (their changes come on ``…/pickups``, not retained), but
    the snapshot carries every order due, for a device that starts from it: so a change
    moves the feed, and that version's delta carries the orders due (``feed.prepare``)
    for a device that follows by delta and missed a message."""
    o = order_records.c
    q = select(o.id, o.revision).where(o.store_id == store_id, o.state == READY)
    return hashlib.sha256(canonical([list(r) for r in conn.execute(q.order_by(o.id))])).hexdigest()


def unchanged(feed: Any, src: Sources) -> bool:
    """Whether the feed row ``feed`` was built from exactly ``src``."""
    return (
        (feed.catalog_version, feed.stock_version, feed.staff_version)
        == (src.catalog_version, src.stock_version, src.staff_version)
        and feed.state == src.state
    )  # fmt: skip


# -- rows, as snapshot and deltas carry them ------------------------------------------------


def product_rows(conn: Connection, after: int = -1) -> Iterator[list[Any]]:
    """Products with a version above ``after`` (every one by default), by SKU."""
    c = products.c
    q = select(*(c[f] for f in PRODUCT_FIELDS)).where(c.version > after).order_by(c.sku)
    for r in conn.execute(q):
        yield list(r)


def stock_rows(
    conn: Connection, store_ids: Sequence[str], after: int = -1, live: bool = True
) -> Iterator[Any]:
    """Stock rows of the stores with a version above ``after``, by store and SKU;
    tombstones too unless ``live``."""
    c = stock.c
    cols = (c.store_id, c.sku, c.quantity, c.low_threshold, c.removed_at)
    for part in chunks(sorted(store_ids), 1000):
        q = select(*cols).where(c.store_id.in_(part), c.version > after)
        if live:
            q = q.where(c.removed_at.is_(None))
        yield from conn.execute(q.order_by(c.store_id, c.sku))


def staff_rows(conn: Connection, store_id: str, after: int = -1, live: bool = True) -> list[Any]:
    c = staff.c
    q = select(c.staff_id, c.name, c.pin_hash, c.removed_at).where(
        c.store_id == store_id, c.version > after
    )
    if live:
        q = q.where(c.removed_at.is_(None))
    return list(conn.execute(q.order_by(c.staff_id)))


def staff_record(r: Any) -> dict[str, Any]:
    return {"staff_id": r.staff_id, "name": r.name, "pin_hash": r.pin_hash}


# -- the change ops ---------------------------------------------------------------------------


def changes(conn: Connection, store_id: str, feed: Any, src: Sources) -> list[list[Any]]:
    """The ops that take a device from what ``feed`` was built from to ``src``, in a
    fixed order (products, the store, nearby stores and their stock, own stock, staff),
    each group sorted, so equal inputs give equal deltas."""
    out: list[list[Any]] = [["p", *r] for r in product_rows(conn, feed.catalog_version)]
    if feed.state["store"] != src.store:
        out.append(["store", src.store])
    before: dict[str, list[Any]] = feed.state["nearby"]
    out += [["ns-", sid] for sid in sorted(set(before) - set(src.nearby))]
    for sid, (version, rec) in src.nearby.items():
        old = before.get(sid)
        if old is None or old[1] != rec:
            out.append(["ns", rec])
        since = 0 if old is None else old[0]
        if version > since:
            for r in stock_rows(conn, [sid], since, live=old is None):
                if r.removed_at is None:
                    out.append(["n", sid, r.sku, r.quantity, r.low_threshold])
                else:
                    out.append(["n-", sid, r.sku])
    if src.stock_version > feed.stock_version:
        for r in stock_rows(conn, [store_id], feed.stock_version, live=False):
            out.append(["s-", r.sku] if r.removed_at else ["s", r.sku, r.quantity, r.low_threshold])
    if src.staff_version > feed.staff_version:
        for r in staff_rows(conn, store_id, feed.staff_version, live=False):
            out.append(["staff-", r.staff_id] if r.removed_at else ["staff", staff_record(r)])
    return out
