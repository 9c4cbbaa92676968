"""Staff unlock at the kiosk: a PIN checked offline against the staff list, rate-limited.

The staff list (``staff``: id, name, scrypt PIN hash) comes from central with the store
data. A PIN is checked with ``pins.verify_pin`` (about 40 ms a hash). The limit is for
the whole device, not per staff member, so cycling through names gains nothing:
``FREE_TRIES`` wrong PINs in a row, then each further wrong PIN locks the desk for a
time that doubles (30 s, 60 s, 120 s, … up to ``MAX_LOCK_S``); the right PIN resets it.
The count lives in edge.db, so restarting the kiosk does not reset it, and while locked
no PIN is even checked. Times are wall-clock seconds (they must survive a restart); a
clock set back can never lock for longer than ``MAX_LOCK_S`` from now.

A ``StaffSession`` is who unlocked and when; it ends after ``idle_s`` without use, so
an unlocked desk left alone does not stay open for the next person.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..db import open_edge_db
from ..protocol.pins import verify_pin

FREE_TRIES = 5
FIRST_LOCK_S = 30.0
MAX_LOCK_S = 15 * 60.0
DEFAULT_IDLE_S = 120.0
#: the rate limit's row in ``pickup_pin_attempts``
DEVICE_SCOPE = "device"

STAFF_TABLE = (
    "CREATE TABLE IF NOT EXISTS staff ("
    "staff_id TEXT PRIMARY KEY, name TEXT NOT NULL, pin_hash TEXT NOT NULL)"
)


def ensure_staff_table(conn: sqlite3.Connection) -> None:
    """The staff table as the store-data loader makes it, for a test or a tool that needs
    it before store data is loaded. The unlock itself never creates it: without a staff
    list nobody can unlock, which is the safe answer."""
    conn.execute(STAFF_TABLE)


def staff_rows(conn: sqlite3.Connection, staff_id: str | None) -> list[tuple[str, str, str]]:
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'staff'").fetchone() is None:
        return []
    sql, args = "SELECT staff_id, name, pin_hash FROM staff ORDER BY staff_id", ()
    if staff_id is not None:
        sql, args = "SELECT staff_id, name, pin_hash FROM staff WHERE staff_id = ?", (staff_id,)
    return conn.execute(sql, args).fetchall()


class UnlockRefused(Exception):
    """A PIN that did not unlock; ``str()`` is what to show."""

    def __init__(
        self, message: str, *, tries_left: int | None = None, retry_in_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        #: wrong PINs still allowed before a lock-out (None while locked)
        self.tries_left = tries_left
        #: seconds until a PIN is checked again (None when not locked)
        self.retry_in_s = retry_in_s

    @property
    def locked(self) -> bool:
        return self.retry_in_s is not None


def lock_seconds(failures: int) -> float:
    """How long the desk stays locked after the ``failures``-th wrong PIN in a row."""
    if failures < FREE_TRIES:
        return 0.0
    return min(FIRST_LOCK_S * 2 ** min(failures - FREE_TRIES, 30), MAX_LOCK_S)


def _wait_text(seconds: float) -> str:
    s = max(1, int(-(-seconds // 1)))  # rounded up: never "0 s"
    return f"{s} s" if s < 120 else f"{-(-s // 60)} min"


@dataclass(slots=True)
class StaffSession:
    """Who unlocked the desk and when; ``active`` until ``idle_s`` pass without use."""

    staff_id: str
    name: str
    started_at: float
    last_used_at: float
    idle_s: float = DEFAULT_IDLE_S
    clock: Callable[[], float] = field(default=time.time, repr=False)
    ended: bool = False

    def active(self) -> bool:
        return not self.ended and self.clock() - self.last_used_at < self.idle_s

    def touch(self) -> None:
        """Staff did something: the idle time starts again."""
        self.last_used_at = self.clock()

    def end(self) -> None:
        """Lock the desk again (staff tapped "done")."""
        self.ended = True


class StaffUnlock:
    """Checks PINs against the staff list in edge.db, with the persisted rate limit."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        idle_s: float = DEFAULT_IDLE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn, _ = open_edge_db(db_path)
        self._lock = threading.Lock()
        self.idle_s = idle_s
        self.clock = clock

    def _attempts(self) -> tuple[int, float]:
        row = self._conn.execute(
            "SELECT failures, locked_until FROM pickup_pin_attempts WHERE scope = ?",
            (DEVICE_SCOPE,),
        ).fetchone()
        return (0, 0.0) if row is None else (row[0], row[1])

    def locked_for(self) -> float:
        """Seconds until a PIN is checked again; 0 when it is now."""
        with self._lock:
            _, until = self._attempts()
        return min(max(0.0, until - self.clock()), MAX_LOCK_S)

    def unlock(self, pin: str, staff_id: str | None = None) -> StaffSession:
        """The session of the staff member whose PIN this is (only ``staff_id``'s when
        given: one hash to check instead of the whole list). Raises ``UnlockRefused``."""
        wait = self.locked_for()
        if wait > 0:
            raise UnlockRefused(
                f"Too many wrong PINs: try again in {_wait_text(wait)}", retry_in_s=int(wait + 1)
            )
        who = self._match(pin, staff_id)
        if who is None:
            raise self._failed()
        with self._lock:
            self._conn.execute("DELETE FROM pickup_pin_attempts WHERE scope = ?", (DEVICE_SCOPE,))
        now = self.clock()
        return StaffSession(who[0], who[1], now, now, self.idle_s, self.clock)

    def _match(self, pin: str, staff_id: str | None) -> tuple[str, str] | None:
        with self._lock:
            rows = staff_rows(self._conn, staff_id)
        for sid, name, pin_hash in rows:  # scrypt outside the lock: 40 ms each
            if isinstance(pin, str) and verify_pin(pin, pin_hash):
                return sid, name
        return None

    def _failed(self) -> UnlockRefused:
        """Count a wrong PIN (atomically: two kiosk threads both count) and say what now."""
        now = self.clock()
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                failures = self._attempts()[0] + 1
                until = now + lock_seconds(failures)
                conn.execute(
                    "INSERT OR REPLACE INTO pickup_pin_attempts"
                    " (scope, failures, locked_until, last_failure_at) VALUES (?, ?, ?, ?)",
                    (DEVICE_SCOPE, failures, until, now),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if failures < FREE_TRIES:
            left = FREE_TRIES - failures
            return UnlockRefused(
                f"Wrong PIN, {left} {'try' if left == 1 else 'tries'} left", tries_left=left
            )
        wait = until - now
        return UnlockRefused(
            f"Wrong PIN. Too many wrong PINs: try again in {_wait_text(wait)}",
            tries_left=0,
            retry_in_s=int(wait),
        )

    def staff_name(self, staff_id: str) -> str | None:
        with self._lock:
            rows = staff_rows(self._conn, staff_id)
        return rows[0][1] if rows else None

    def close(self) -> None:
        self._conn.close()
