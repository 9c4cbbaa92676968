"""A store's snapshot body: canonical JSON (``store_data.canonical``: sorted keys, no
spaces), so equal state gives equal bytes and the sha256 in the manifest is over exactly
what ``GET …/snapshot`` serves.

The products are the same for every store and most of the body: their JSON is built
once per catalog version (``ProductsCache``) and spliced in. Splicing keeps the body
canonical: a canonical object is its sorted keys, each ``"key":value``, joined by commas.
"""

from __future__ import annotations

import gzip
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from edge_sync.protocol import format_ts
from edge_sync.protocol.store_data import FORMAT, canonical

from .sources import Sources, product_rows, staff_record, staff_rows, stock_rows

#: gzip level for the stored body: 6 is zlib's default (level 9 is ~3× slower for ~3 %)
GZIP_LEVEL = 6


class ProductsCache:
    """The products' canonical JSON at one catalog version, for one database (each
    publisher has its own: the key is the version only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: tuple[int, bytes] | None = None

    def get(self, conn: Connection, catalog_version: int) -> bytes:
        with self._lock:
            if self._at is not None and self._at[0] == catalog_version:
                return self._at[1]
        body = canonical(list(product_rows(conn)))
        with self._lock:
            self._at = (catalog_version, body)
        return body


class _Raw:
    """Bytes already canonical JSON."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _object(fields: dict[str, Any]) -> bytes:
    parts = [
        canonical(k) + b":" + (v.data if isinstance(v, _Raw) else canonical(v))
        for k, v in sorted(fields.items())
    ]
    return b"{" + b",".join(parts) + b"}"


def build_body(
    conn: Connection,
    store_id: str,
    version: int,
    now: datetime,
    src: Sources,
    pickups: list[dict[str, Any]],
    cache: ProductsCache | None = None,
) -> bytes:
    """The snapshot at ``version`` from ``src`` and the orders due ``pickups``
    (``pickups_due``), read in the same transaction."""
    prods = (
        cache.get(conn, src.catalog_version)
        if cache is not None
        else canonical(list(product_rows(conn)))
    )
    near = list(src.nearby)
    return _object({
        "format": FORMAT,
        "store_id": store_id,
        "version": version,
        "built_at": format_ts(now),
        "store": src.store,
        "products": _Raw(prods),
        "stock": [[r.sku, r.quantity, r.low_threshold] for r in stock_rows(conn, [store_id])],
        "nearby_stores": [src.nearby[sid][1] for sid in near],
        "nearby_stock": [
            [r.store_id, r.sku, r.quantity, r.low_threshold] for r in stock_rows(conn, near)
        ],
        "staff": [staff_record(r) for r in staff_rows(conn, store_id)],
        "pickups": pickups,
    })  # fmt: skip


def compress(body: bytes) -> bytes:
    """Stored gzip-compressed (``mtime=0``: the same body gives the same bytes)."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
