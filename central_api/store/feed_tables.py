"""Staff of each store, and each store's feed: its version, the cursors it was built
from, the snapshots kept and the deltas between them (``domain/store_feed``).

``staff.version`` comes from the ``staff`` row of ``inventory_versions`` (one counter,
taken under a row lock by a writer that changes something), so a store's staff changes
since version *n* are its rows with ``version > n``; a removed member stays as a
tombstone (``removed_at`` set, at a new version) so the removal reaches the kiosks.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from .base import UTCDateTime, metadata

staff = Table(
    "staff",
    metadata,
    Column("store_id", String(64), ForeignKey("stores.id"), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("name", Text(), nullable=False),
    #: ``edge_sync.protocol.pins.hash_pin``: scrypt, never the PIN
    Column("pin_hash", Text(), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("removed_at", UTCDateTime(), nullable=True),
    Index(None, "store_id", "version"),
)

store_feeds = Table(
    "store_feeds",
    metadata,
    Column("store_id", String(64), ForeignKey("stores.id"), primary_key=True),
    #: the store's feed version: the latest snapshot's
    Column("version", BigInteger(), nullable=False),
    #: the sources as of that version: the catalog's version, the store's own stock
    #: version, the staff counter
    Column("catalog_version", BigInteger(), nullable=False),
    Column("stock_version", BigInteger(), nullable=False),
    Column("staff_version", BigInteger(), nullable=False),
    #: ``{"store": {STORE_FIELDS}, "nearby": {id: [stock_version, {NEARBY_STORE_FIELDS}]},
    #: "pickups": sha256 of the orders due (ids, revisions)}``
    Column("state", JSON(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

store_snapshots = Table(
    "store_snapshots",
    metadata,
    Column("store_id", String(64), ForeignKey("stores.id"), primary_key=True),
    Column("version", BigInteger(), primary_key=True),
    #: of the JSON body as served (before gzip), and its size
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger(), nullable=False),
    #: the JSON body, gzip-compressed
    Column("body", LargeBinary(), nullable=False),
    Column("built_at", UTCDateTime(), nullable=False),
)

store_deltas = Table(
    "store_deltas",
    metadata,
    Column("store_id", String(64), ForeignKey("stores.id"), primary_key=True),
    Column("to_version", BigInteger(), primary_key=True),
    Column("from_version", BigInteger(), nullable=False),
    Column("changes", Integer(), nullable=False),
    #: the message as published (JSON)
    Column("body", LargeBinary(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    #: set once the broker acknowledged it (any central process)
    Column("published_at", UTCDateTime(), nullable=True),
    Index(None, "published_at", "store_id", "to_version"),
)
