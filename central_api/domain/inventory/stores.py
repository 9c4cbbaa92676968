"""Stores: upserted by id; listed; and the stores near one, by distance.

The nearby search filters on a latitude/longitude box in SQL (an index range on
latitude) and computes the exact haversine distance in Python for what the box lets
through, on both backends: SQLite has no trigonometry unless it was built with its
math functions, and PostGIS is not a dependency (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from ...store.inventory_tables import stores
from .catalog import Upserted
from .geo import bounding_box, haversine_km
from .records import Store
from .writes import diff, lock_version, read_by_key, set_version, write

FIELDS = Store._fields
#: the farthest a nearby search reaches
MAX_NEARBY_KM = 1000.0


class UnknownStore(Exception):
    def __init__(self, store_id: str) -> None:
        super().__init__(f"no store {store_id}")
        self.store_id = store_id


def upsert_stores(conn: Connection, items: Sequence[Store], now: datetime) -> Upserted:
    """Create or update ``items`` (ids unique among them); stores not named stay."""
    version = lock_version(conn, "stores")
    incoming = {s.id: tuple(s) for s in items}
    stored = read_by_key(conn, stores, "id", incoming, FIELDS[1:])
    d = diff({k: (k, *v) for k, v in stored.items()}, incoming, FIELDS)
    if d:
        version += 1
        write(
            conn, stores, ["id"], d, {"version": version, "updated_at": now},
            new_only={"created_at": now, "stock_version": 0, "stock_as_of": None},
        )  # fmt: skip
        set_version(conn, "stores", version)
    return Upserted(len(items), len(d.new), len(d.changed), d.unchanged, version)


_COLUMNS = (*FIELDS, "version", "stock_version", "stock_as_of")


def _row(r: Any) -> dict[str, Any]:
    return {n: getattr(r, n) for n in _COLUMNS}


def list_stores(conn: Connection) -> list[dict[str, Any]]:
    q = select(*(stores.c[n] for n in _COLUMNS)).order_by(stores.c.id)
    return [_row(r) for r in conn.execute(q)]


def get_store(conn: Connection, store_id: str) -> dict[str, Any]:
    r = conn.execute(
        select(*(stores.c[n] for n in _COLUMNS)).where(stores.c.id == store_id)
    ).first()
    if r is None:
        raise UnknownStore(store_id)
    return _row(r)


@dataclass(frozen=True, slots=True)
class Nearby:
    store: dict[str, Any]
    distance_km: float


def stores_within(
    conn: Connection, lat: float, lon: float, km: float, exclude: str | None = None
) -> list[Nearby]:
    """Stores within ``km`` of (lat, lon), nearest first (ties by id)."""
    box = bounding_box(lat, lon, km)
    c = stores.c
    where = [c.latitude.between(box.lat_min, box.lat_max)]
    if box.lon_ranges:
        where.append(or_(*(c.longitude.between(lo, hi) for lo, hi in box.lon_ranges)))
    if exclude is not None:
        where.append(c.id != exclude)
    q = select(*(c[n] for n in _COLUMNS)).where(and_(*where))
    found = []
    for r in conn.execute(q):
        d = haversine_km(lat, lon, r.latitude, r.longitude)
        if d <= km:
            found.append(Nearby(_row(r), d))
    found.sort(key=lambda n: (n.distance_km, n.store["id"]))
    return found


def nearby_stores(conn: Connection, store_id: str, km: float) -> list[Nearby]:
    """The other stores within ``km`` of ``store_id``, nearest first; ``UnknownStore``."""
    origin = get_store(conn, store_id)
    return stores_within(conn, origin["latitude"], origin["longitude"], km, exclude=store_id)
