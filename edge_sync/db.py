"""Opening the device's SQLite file (``edge.db``): pragmas, integrity check, salvage.

The kiosk UI and the sync daemon are separate processes that both open this file; WAL
mode lets the daemon read while the UI writes. Each process also holds a shared
``flock`` on ``edge.db.lock`` for as long as its connection is open, so that a process
that finds the file corrupt moves it aside only when nobody else is using it. Anything
else that opens edge.db (the caches) should go through ``open_edge_db`` for that reason.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from . import recovery
from .errors import DatabaseInUse, DatabaseRecovered
from .protocol.ids import format_ts, utcnow
from .schema import migrate, now_us, set_seq_floor

log = logging.getLogger(__name__)

RecoveryInfo = DatabaseRecovered

BUSY_TIMEOUT_MS = 10_000
#: how long an open waits for other processes to let go of a corrupt file
RECOVERY_WAIT_S = 30.0

#: sync_state keys written by this package (the daemon adds its own)
STATE_DB_RECOVERED = "db_recovered"


class EdgeConnection(sqlite3.Connection):
    """A connection that keeps the process's lock on the file until it is closed."""

    lock: _FileLock | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None


class _FileLock:
    def __init__(self, path: Path) -> None:
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def shared(self) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def try_exclusive(self) -> bool:
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def conn_path(conn: sqlite3.Connection) -> str:
    return conn.execute("PRAGMA database_list").fetchone()[2]


# --- opening ------------------------------------------------------------------------------


def _connect(path: Path, lock: _FileLock | None) -> EdgeConnection:
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,  # autocommit; writes use explicit BEGIN IMMEDIATE
        check_same_thread=False,  # the Outbox serialises access with its own lock
        factory=EdgeConnection,
    )
    conn.lock = lock
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        _use_wal(conn, path)
        # FULL: every COMMIT is fsynced before it returns, so an event the kiosk showed as
        # done survives a power cut. NORMAL in WAL mode keeps the file consistent but may
        # lose the last commits on power loss, which is exactly what we promise not to do.
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection, path: Path) -> None:
    # WAL is recorded in the file, so only its first opener switches. Two processes that
    # create the file at once race for that switch, and SQLite answers the loser "locked"
    # at once instead of calling the busy handler: retry until the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as err:
            busy = getattr(err, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    if mode.lower() != "wal":
        raise sqlite3.OperationalError(f"could not switch {path} to WAL (got {mode!r})")


#: files this process found sound, by path, with their (inode, size, mtime) then: the
#: kiosk opens edge.db several times at start (outbox, store data, campaigns, keys), and
#: ``quick_check`` reads the whole file each time (about 45 ms at 100,000 products)
_SOUND: dict[str, tuple[int, int, int]] = {}
#: checks started early by ``check_in_background``, by path
_PENDING: dict[str, threading.Thread] = {}


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def integrity_problem(path: Path) -> str | None:
    """None when ``path`` is absent, empty, or passes ``PRAGMA quick_check``; a file
    this process already found sound is not read again while it is the same file,
    unchanged (a write to it, or another file in its place, is checked again; writes
    through WAL reach the file itself only at a checkpoint)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    key = str(path.resolve())
    if (pending := _PENDING.pop(key, None)) is not None:
        pending.join()  # the check started early (check_in_background) is the one
    if (seen := _SOUND.get(key)) is not None and seen == _identity(path):
        return None
    return _checked(path, key)


def _checked(path: Path, key: str) -> str | None:
    problem = _quick_check(path)
    if problem is None and (now := _identity(path)) is not None:
        _SOUND[key] = now
    return problem


def check_in_background(path: str | os.PathLike[str]) -> None:
    """Start ``path``'s integrity check now, in a thread, for an ``open_edge_db`` to
    come: SQLite runs it without holding Python's lock, so it overlaps whatever this
    process does meanwhile (the kiosk opens its window). The open waits for it; a
    file it found damaged is checked again there, and handled as always."""
    path = Path(path)
    if not path.exists():
        return
    key = str(path.resolve())

    def check() -> None:
        try:
            _checked(path, key)
        except Exception:  # the open checks again and raises what it finds
            log.exception("the early integrity check of %s failed", path)

    thread = threading.Thread(target=check, name="edge-db-check", daemon=True)
    thread.start()
    _PENDING[key] = thread


def _quick_check(path: Path) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(20)")]
    except sqlite3.DatabaseError as err:
        # Only a damaged file is moved aside; "locked", "I/O error", "permission denied"
        # say nothing about the file's content and must not cost the device its outbox.
        if getattr(err, "sqlite_errorcode", 0) & 0xFF in (
            sqlite3.SQLITE_CORRUPT,
            sqlite3.SQLITE_NOTADB,
        ):
            return str(err)
        raise
    finally:
        conn.close()
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _wait_exclusive(lock: _FileLock, path: Path) -> bool:
    """Wait for sole use of a file found corrupt. True: we have it. False: another process
    replaced the file meanwhile (salvaged it), and we hold a shared lock on the new one."""
    corrupt = _inode(path)
    lock.unlock()  # two processes that both found the file corrupt must not wait for each other
    deadline = time.monotonic() + RECOVERY_WAIT_S
    while not lock.try_exclusive():
        if _inode(path) != corrupt:
            lock.shared()  # blocks until the salvaging process is done
            return False
        if time.monotonic() > deadline:
            lock.shared()
            raise DatabaseInUse(
                f"{path} failed its integrity check and another process still has it open; "
                "stop that process so that this one can move the file aside and salvage it"
            )
        time.sleep(0.05)
    return True


def _salvage(conn: sqlite3.Connection, quarantined: Path, problem: str) -> RecoveryInfo:
    got = recovery.salvage(conn, quarantined)
    floor = max(got.max_seq, now_us())
    info = RecoveryInfo(
        quarantined_path=str(quarantined),
        at=format_ts(utcnow()),
        problem=problem[:500],
        rows_salvaged=got.rows,
        rows_invalid=got.invalid,
        dead_letters_salvaged=got.dead_letters,
        max_seq_seen=got.max_seq,
        seq_floor=floor,
        unreadable_ranges=got.unreadable,
    )
    conn.execute("BEGIN IMMEDIATE")
    try:
        set_seq_floor(conn, floor)
        conn.execute(
            "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
            (STATE_DB_RECOVERED, json.dumps(info.as_dict())),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.warning(
        "%s was corrupt (%s): moved to %s, salvaged %d events",
        conn_path(conn),
        info.problem,
        info.quarantined_path,
        info.rows_salvaged,
    )
    return info


def open_edge_db(path: str | os.PathLike[str]) -> tuple[EdgeConnection, RecoveryInfo | None]:
    """Open (creating or upgrading) edge.db; a corrupt file is moved aside and salvaged."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _FileLock(path.with_name(path.name + ".lock"))
    try:
        lock.shared()
        exclusive = False
        while (problem := integrity_problem(path)) is not None and not exclusive:
            exclusive = _wait_exclusive(lock, path)
        if problem is None:
            conn = _connect(path, lock)
            try:
                migrate(conn)
            except BaseException:
                conn.close()
                raise
            lock.shared()  # a no-op unless we waited for the exclusive lock
            return conn, None
        quarantined = recovery.quarantine(path)
        conn = _connect(path, lock)
        try:
            migrate(conn)
            info = _salvage(conn, quarantined, problem)
        except BaseException:
            conn.close()
            raise
        lock.shared()
        return conn, info
    except BaseException:
        lock.release()
        raise
