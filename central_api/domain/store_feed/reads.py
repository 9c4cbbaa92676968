"""Reading a stored snapshot, for ``GET /api/v1/stores/{store_id}/snapshot``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ...store.feed_tables import store_feeds, store_snapshots


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    store_id: str
    version: int
    sha256: str
    size: int
    #: the body, gzip-compressed, as stored
    gzipped: bytes


def latest_version(conn: Connection, store_id: str) -> int | None:
    f = store_feeds.c
    return conn.scalar(select(f.version).where(f.store_id == store_id))


def read_snapshot(conn: Connection, store_id: str, version: int | None) -> StoredSnapshot | None:
    """The snapshot at ``version`` (None: the latest); None when it is not kept (any
    more) or the store has no feed yet."""
    if version is None:
        version = latest_version(conn, store_id)
        if version is None:
            return None
    s = store_snapshots.c
    r = conn.execute(
        select(s.sha256, s.size, s.body).where(s.store_id == store_id, s.version == version)
    ).first()
    if r is None:
        return None
    return StoredSnapshot(store_id, version, r.sha256, r.size, r.body)
