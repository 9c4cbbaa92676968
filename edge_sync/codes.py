"""The device's copy of central's public keys and revocations, and its used one-time codes.

The sync daemon stores each keys message from ``omk/v1/down/all/keys`` (``apply``); the
kiosk verifies codes against what is stored (``EdgeClient.verify_code``), with no
network. A message replaces keys and revocations together in one transaction, so a
scan never sees new keys with an old revocation list.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .db import open_edge_db
from .protocol.ids import format_ts, parse_ts, utcnow

if TYPE_CHECKING:  # the keyring (and its signature library) loads on first use
    from .protocol.tokens import Keyring, KeysMessage

#: sync_state keys
STATE_KEYS_DIGEST = "keys_digest"  # SHA-256 of the stored message's content
STATE_KEYS_ISSUED_AT = "keys_issued_at"  # when central built it


def content_digest(msg: KeysMessage) -> str:
    return hashlib.sha256(msg.model_dump_json(exclude={"issued_at"}).encode()).hexdigest()


class StoredRevocations:
    """``tokens.Revocations`` read from edge.db as needed: a scan asks about its own
    scopes only, so a long list costs nothing per scan."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn, self._lock = conn, lock

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM revoked_tokens").fetchone()[0]

    def revokes(self, scope_hashes: Iterable[str], generation: int) -> bool:
        hashes = list(scope_hashes)
        marks = ",".join("?" * len(hashes))
        with self._lock:
            row = self._conn.execute(
                f"SELECT max(generation) FROM revoked_tokens WHERE scope IN ({marks})", hashes
            ).fetchone()
        return row[0] is not None and row[0] >= generation


class CodeStore:
    def __init__(self, db_path: str | Path) -> None:
        self._conn, _ = open_edge_db(db_path)
        self._lock = threading.Lock()
        self._ring: tuple[str | None, Keyring] | None = None
        self.revocations = StoredRevocations(self._conn, self._lock)

    def _state(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def apply(self, msg: KeysMessage) -> bool:
        """Store a keys message in place of the last one; False if it says nothing new."""
        digest = content_digest(msg)
        keys = [
            (k.kid, k.to_key().public, format_ts(k.not_before),
             format_ts(k.not_after) if k.not_after else None)
            for k in msg.keys
        ]  # fmt: skip
        revoked = [(r.s, r.g, r.until.isoformat()) for r in msg.revoked]
        with self._lock:
            if self._state(STATE_KEYS_DIGEST) == digest:
                return False
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("DELETE FROM keys")
                c.executemany("INSERT INTO keys VALUES (?, ?, ?, ?)", keys)
                c.execute("DELETE FROM revoked_tokens")
                c.executemany("INSERT OR REPLACE INTO revoked_tokens VALUES (?, ?, ?)", revoked)
                c.executemany(
                    "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                    [(STATE_KEYS_DIGEST, digest), (STATE_KEYS_ISSUED_AT, format_ts(msg.issued_at))],
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return True

    def keyring(self) -> Keyring:
        """The stored keys (read again only when a new message was stored)."""
        with self._lock:
            digest = self._state(STATE_KEYS_DIGEST)
            if self._ring is not None and digest == self._ring[0]:
                return self._ring[1]
            rows = self._conn.execute(
                "SELECT kid, public, not_before, not_after FROM keys"
            ).fetchall()
        from .protocol.tokens import Keyring, PublicKey

        ring = Keyring(
            PublicKey.of(kid, bytes(pub), parse_ts(nb), parse_ts(na) if na else None)
            for kid, pub, nb, na in rows
        )
        self._ring = (digest, ring)
        return ring

    def issued_at(self) -> str | None:
        with self._lock:
            return self._state(STATE_KEYS_ISSUED_AT)

    def is_used(self, token_hash: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM used_tokens WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        return row is not None

    def mark_used(self, token_hash: str, at: datetime | None = None) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO used_tokens VALUES (?, ?)",
                (token_hash, format_ts(at or utcnow())),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
