"""The catalog: products upserted by SKU, each change at a new catalog version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from ...store.inventory_tables import products
from .records import BarcodeTaken, Product
from .writes import diff, lock_version, read_by_key, set_version, write

FIELDS = Product._fields


@dataclass(frozen=True, slots=True)
class Upserted:
    rows: int
    created: int
    updated: int
    unchanged: int
    #: the counter after this write (unchanged when nothing changed)
    version: int


def upsert_products(conn: Connection, items: Sequence[Product], now: datetime) -> Upserted:
    """Create or update ``items`` (SKUs unique among them); products not named stay as
    they are. Only rows that differ get the new version, so importing the same file
    twice changes nothing. ``BarcodeTaken`` when another SKU has one of the barcodes."""
    version = lock_version(conn, "catalog")
    incoming = {p.sku: tuple(p) for p in items}
    holders = read_by_key(conn, products, "barcode", (p.barcode for p in items), ["sku"])
    taken = {
        p.barcode: holders[p.barcode][0]
        for p in items
        if p.barcode in holders and holders[p.barcode][0] != p.sku
    }
    if taken:
        raise BarcodeTaken(taken)
    stored = read_by_key(conn, products, "sku", incoming, FIELDS[1:])
    d = diff({k: (k, *v) for k, v in stored.items()}, incoming, FIELDS)
    if d:
        version += 1
        write(conn, products, ["sku"], d, {"version": version, "updated_at": now})
        set_version(conn, "catalog", version)
    return Upserted(len(items), len(d.new), len(d.changed), d.unchanged, version)
