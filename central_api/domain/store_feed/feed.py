"""Advancing a store's feed: when anything the store sees has changed, one new version
with its snapshot stored and the delta from the previous version.

In two steps, so no lock is held while a snapshot is built (a second or so for 100,000
products, and on SQLite the write lock stops ingest):

1. ``prepare`` reads the feed row, the sources, the changes and the snapshot in one
   read transaction: a consistent view (PostgreSQL REPEATABLE READ; SQLite's read
   transaction in WAL mode), so the delta and the snapshot describe the same state;
2. ``commit`` locks the feed row and writes, only if the feed is still at the version
   ``prepare`` started from. Another process that advanced the feed meanwhile wins, and
   this one's work is dropped (``advance`` returns None): any number of central
   processes may advance the same feeds.

The first version of a feed has no delta (a device starts from the snapshot), nor has
one with more than ``MAX_DELTA_CHANGES`` changes or ``MAX_DELTA_BYTES`` bytes: devices
see the gap in the manifest and fetch the snapshot. A delta of a version whose orders
due for pickup changed carries them all (``pickups``, as in the snapshot), so snapshot
*n* plus delta *n→n+1* is snapshot *n+1* for them too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from edge_sync.protocol import format_ts
from edge_sync.protocol.store_data import (
    FORMAT,
    MAX_DELTA_BYTES,
    MAX_DELTA_CHANGES,
    body_sha256,
    canonical,
    changes_sha256,
)

from ...store.db import write_transaction
from ...store.feed_tables import store_deltas, store_feeds, store_snapshots
from ...store.sql import insert_ignore
from ..orders.push import pickups_due
from .snapshot import ProductsCache, build_body, compress
from .sources import FeedSettings, Sources, changes, read_sources, unchanged

log = logging.getLogger(__name__)

#: snapshots kept per store: the latest and the one before (a device that read the
#: manifest just before a new version can still fetch what it names)
KEEP_SNAPSHOTS = 2
#: published deltas kept per store (older ones are of no use: a device that far behind
#: fetches the snapshot)
KEEP_DELTAS = 100


@dataclass(frozen=True, slots=True)
class Prepared:
    store_id: str
    #: the feed's version this was computed from (0: no feed yet), and its cursors
    base: int
    base_cursors: tuple[int, int, int, int] | None
    version: int
    src: Sources
    body: bytes
    sha256: str
    #: None: no delta (the first version, or too many changes)
    delta: bytes | None
    changes: int
    built_at: datetime


@dataclass(frozen=True, slots=True)
class Advanced:
    store_id: str
    version: int
    changes: int
    #: whether a delta was stored for this version
    delta: bool
    sha256: str
    size: int


def read_feed(conn: Connection, store_id: str) -> Any:
    return conn.execute(select(store_feeds).where(store_feeds.c.store_id == store_id)).first()


def delta_body(
    store_id: str,
    frm: int,
    to: int,
    ops: list[list[Any]],
    pickups: list[dict[str, Any]] | None = None,
    built_at: datetime | None = None,
) -> bytes:
    """``pickups``: every order due at ``to`` when they changed in this version (then
    with ``built_at``); devices that do not know the field ignore it."""
    doc: dict[str, Any] = {
        "format": FORMAT, "store_id": store_id, "from_version": frm, "to_version": to,
        "sha256": changes_sha256(ops), "changes": ops,
    }  # fmt: skip
    if pickups is not None:
        assert built_at is not None
        doc["pickups"], doc["built_at"] = pickups, format_ts(built_at)
    return canonical(doc)


def prepare(
    conn: Connection,
    store_id: str,
    now: datetime,
    settings: FeedSettings,
    cache: ProductsCache | None = None,
) -> Prepared | None:
    """The next version of the store's feed, or None when nothing it carries changed.
    ``UnknownStore``."""
    feed = read_feed(conn, store_id)
    src = read_sources(conn, store_id, settings)
    if feed is not None and unchanged(feed, src):
        return None
    base = feed.version if feed is not None else 0
    ops = changes(conn, store_id, feed, src) if feed is not None else None
    version = base + 1
    delta = None
    due = pickups_due(conn, store_id, settings.no_show_days)
    if ops is not None:
        # The orders due have no change op and their messages on …/pickups are not
        # retained (a device that subscribed after one was sent never gets it): when
        # they changed, the delta carries them all, as the snapshot does.
        pickups_moved = feed.state.get("pickups") != src.pickups
        if not ops and not pickups_moved:
            version = base  # sources moved without a change the store sees: cursors only
        elif len(ops) <= MAX_DELTA_CHANGES:
            delta = delta_body(store_id, base, version, ops, due if pickups_moved else None, now)
            if len(delta) > MAX_DELTA_BYTES:
                delta = None
    body = build_body(conn, store_id, version, now, src, due, cache)
    cursors = _cursors(feed) if feed is not None else None
    return Prepared(store_id, base, cursors, version, src, body, body_sha256(body), delta,
                    len(ops) if ops is not None else 0, now)  # fmt: skip


def _cursors(row: Any) -> tuple[int, int, int, int]:
    return (row.version, row.catalog_version, row.stock_version, row.staff_version)


def commit(conn: Connection, p: Prepared) -> bool:
    """Write ``p`` if the feed is still at ``p.base``; False when another process
    advanced it first (nothing written)."""
    f = store_feeds.c
    cursors = {
        "version": p.version, "catalog_version": p.src.catalog_version,
        "stock_version": p.src.stock_version, "staff_version": p.src.staff_version,
        "state": p.src.state, "updated_at": p.built_at,
    }  # fmt: skip
    if p.base == 0:
        stmt = insert_ignore(conn, store_feeds).values(store_id=p.store_id, **cursors)
        if conn.execute(stmt.returning(f.store_id)).first() is None:
            return False  # (rowcount is not reliable for ON CONFLICT on every driver)
    else:
        q = select(f.version, f.catalog_version, f.stock_version, f.staff_version)
        now_at = conn.execute(q.where(f.store_id == p.store_id).with_for_update()).first()
        if now_at is None or _cursors(now_at) != p.base_cursors:
            return False
        conn.execute(store_feeds.update().where(f.store_id == p.store_id).values(**cursors))
    if p.version == p.base:
        return True
    conn.execute(
        store_snapshots.insert().values(
            store_id=p.store_id, version=p.version, sha256=p.sha256, size=len(p.body),
            body=compress(p.body), built_at=p.built_at,
        )
    )  # fmt: skip
    s, d = store_snapshots.c, store_deltas.c
    conn.execute(
        delete(store_snapshots).where(
            s.store_id == p.store_id, s.version <= p.version - KEEP_SNAPSHOTS
        )
    )
    if p.delta is not None:
        conn.execute(
            store_deltas.insert().values(
                store_id=p.store_id, to_version=p.version, from_version=p.base,
                changes=p.changes, body=p.delta, created_at=p.built_at,
            )
        )  # fmt: skip
    conn.execute(
        delete(store_deltas).where(
            d.store_id == p.store_id, d.to_version <= p.version - KEEP_DELTAS,
            d.published_at.is_not(None),
        )
    )  # fmt: skip
    return True


def _consistent_read(engine: Engine) -> Any:
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return conn


def advance(
    engine: Engine,
    store_id: str,
    now: datetime,
    settings: FeedSettings,
    cache: ProductsCache | None = None,
) -> Advanced | None:
    """Advance one store's feed (see the module's docstring); None when nothing changed
    or another process got there first. ``UnknownStore``."""
    with _consistent_read(engine) as conn, conn.begin():
        p = prepare(conn, store_id, now, settings, cache)
    if p is None:
        return None
    with write_transaction(engine) as conn:
        if not commit(conn, p):
            log.debug("feed of %s: advanced by another process first", store_id)
            return None
    if p.version == p.base:
        return None
    return Advanced(store_id, p.version, p.changes, p.delta is not None, p.sha256, len(p.body))
