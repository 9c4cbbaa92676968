"""Errors the device side raises, and what a database salvage reports.

The kiosk UI translates these into a message on the screen; nothing here is an
MQTT or SQLite type, so callers never need to import those libraries.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class EdgeError(Exception):
    """Base class of everything ``edge_sync`` raises on purpose."""


class OutboxFull(EdgeError):
    """An event could not be stored; ``reason`` says why in words a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DiskFull(OutboxFull):
    """SQLite reported SQLITE_FULL ("database or disk is full"); nothing was written."""

    def __init__(self, reason: str, free_bytes: int | None = None) -> None:
        super().__init__(reason)
        self.free_bytes = free_bytes


class EventRejected(EdgeError):
    """``enqueue`` refused an event (unknown type, schema violation, oversize); nothing stored.

    ``cause`` is the protocol's ``UnknownEventType`` / ``SchemaViolation`` when there is one,
    ``detail`` names the field and the problem.
    """

    def __init__(self, type: str, detail: str, cause: Exception | None = None) -> None:
        super().__init__(f"event {type!r} rejected: {detail}")
        self.type = type
        self.detail = detail
        self.cause = cause


class DatabaseBusy(EdgeError):
    """Another process held edge.db's write lock for longer than the busy timeout."""


class DatabaseInUse(EdgeError):
    """edge.db failed its integrity check but another process has it open, so it cannot be
    moved aside safely now; the salvage happens when this process is the only user."""


class DatabaseTooNew(EdgeError):
    """edge.db was written by a newer schema than this code knows."""


@dataclass(frozen=True, slots=True)
class DatabaseRecovered:
    """What opening edge.db did with a corrupt file (not an exception: the device carries on).

    Stored in ``sync_state`` under ``db_recovered`` so the daemon can report it in its status.
    """

    #: where the unreadable file was moved (its -wal/-shm sit next to it with the same prefix)
    quarantined_path: str
    #: RFC 3339 UTC time of the salvage
    at: str
    #: what the integrity check or the open said
    problem: str
    #: outbox rows copied into the fresh database
    rows_salvaged: int
    #: outbox rows that could be read but were not valid events (kept as dead letters)
    rows_invalid: int
    dead_letters_salvaged: int
    #: highest seq found anywhere in the old file (outbox, dead letters, sqlite_sequence)
    max_seq_seen: int
    #: the fresh database's next seq is above this
    seq_floor: int
    #: seq ranges that could not be read (ranges that may or may not have held rows)
    unreadable_ranges: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_sqlite(err: BaseException, path: Path, what: str, busy_s: float) -> EdgeError | None:
    """Our error for the SQLite failures a caller can act on (disk full, locked too long);
    None for the rest. ``what`` says what did not happen, e.g. "event 'x' was not stored"."""
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        try:
            free: int | None = shutil.disk_usage(path.parent).free
        except OSError:
            free = None
        if free is None:
            return DiskFull(f"the disk is full: {path} cannot grow; {what}")
        return DiskFull(
            f"the disk is full: {human_size(free)} free on the disk holding {path}; {what}", free
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseBusy(f"{path} stayed locked by another process for {busy_s:g} s; {what}")
    return None


def human_size(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"
