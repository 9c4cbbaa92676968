"""The sync daemon's side of pickups: store each message on ``…/pickups`` and purge.

Each message is applied in its own write transaction with a purge, so the kiosk's desk
never sees half a message. The messages are not retained: every one carries different
orders, so (unlike the retained topics) none may be skipped for a newer one.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from ..db import open_edge_db
from .orders import ApplyResult, apply_upserts, parse_pickups_message
from .purge import PURGE_INTERVAL_S, Purged, purge

log = logging.getLogger(__name__)


class PickupStore:
    def __init__(self, store_id: str, db_path: str | Path) -> None:
        self.store_id = store_id
        self._conn, _ = open_edge_db(db_path)
        self._next_purge = 0.0
        #: upserts refused as malformed since the start
        self.refused_upserts = 0

    def apply_message(self, payload: bytes, now: datetime | None = None) -> ApplyResult:
        """Store one message's upserts (highest revision wins) and purge. Raises
        ``ValueError`` for a message that is not central's (nothing stored)."""
        upserts = parse_pickups_message(payload, self.store_id)
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = apply_upserts(conn, upserts, now)
            purge(conn, now)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._next_purge = time.monotonic() + PURGE_INTERVAL_S
        self.refused_upserts += len(result.refused)
        for i, order_id, reason in result.refused:
            log.warning("refused pickup upsert %d (order %s): %s", i, order_id or "?", reason)
        return result

    def purge(self, now: datetime | None = None) -> Purged:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = purge(conn, now)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._next_purge = time.monotonic() + PURGE_INTERVAL_S
        if done.cleared or done.deleted:
            log.info(
                "pickups: cleared the personal data of %d orders, deleted %d old records",
                done.cleared, done.deleted,
            )  # fmt: skip
        return done

    def purge_if_due(self) -> Purged | None:
        if time.monotonic() < self._next_purge:
            return None
        return self.purge()

    def close(self) -> None:
        self._conn.close()
