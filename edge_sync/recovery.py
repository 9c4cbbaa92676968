"""Moving a corrupt edge.db aside and salvaging what can still be read from it.

The quarantined copy is opened read-only and read table by table. A full scan can fail
midway on a damaged page, so each table is read in seq (rowid) order as far as it goes,
then backwards from the top, and the unreadable middle is split and probed again until
the pieces are small enough for point lookups. What cannot be read is counted, never
guessed at. Rows whose payload is not the event their columns say are kept as dead
letters (reason ``salvage_invalid``) rather than sent.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .protocol.ids import SEQ_MAX

#: unknown seq ranges at most this wide are read one seq at a time
POINT_RANGE = 256
#: queries one table's probe may spend on damaged regions before giving the rest up
QUERY_BUDGET = 5_000
_BATCH = 500

OUTBOX_COLS = "seq, event_id, type, priority, payload, size, enqueued_at"
DEAD_LETTER_COLS = "seq, event_id, type, payload, reason, detail, at"


def quarantine(path: Path) -> Path:
    """Rename ``path`` (and its -wal/-shm) to ``<name>.corrupt-<UTC timestamp>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    # The -wal first: a -wal left beside a fresh edge.db would be replayed into it.
    # Keeping the suffixes means SQLite still finds the WAL when it opens the copy.
    for suffix in ("-wal", "-shm", ""):
        src = path.with_name(path.name + suffix)
        if src.exists():
            os.replace(src, target.with_name(target.name + suffix))
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the renames themselves must survive a power cut
    finally:
        os.close(dir_fd)
    return target


class _Prober:
    """Reads one table of a damaged file in key order as far as the pages allow."""

    def __init__(self, conn: sqlite3.Connection, table: str, cols: str) -> None:
        self.conn = conn
        self.unreadable = 0
        self._budget = QUERY_BUDGET
        key = cols.split(",")[0]
        self._asc = f"SELECT {cols} FROM {table} WHERE {key} BETWEEN ? AND ? ORDER BY {key}"
        self._desc = self._asc + " DESC"
        self._one = f"SELECT {cols} FROM {table} WHERE {key} = ?"
        self._bounds = f"SELECT min({key}), max({key}) FROM {table}"

    def _range(self) -> tuple[int, int]:
        try:
            lo, hi = self.conn.execute(self._bounds).fetchone()
        except sqlite3.DatabaseError:
            return 1, SEQ_MAX
        return (lo, hi) if lo is not None else (1, 0)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        lo, hi = self._range()
        # a stack of ("range", lo, hi) to probe and ("rows", rows) already read
        stack: list[tuple[Any, ...]] = [("range", lo, hi)]
        while stack:
            item = stack.pop()
            if item[0] == "rows":
                yield from item[1]
                continue
            lo, hi = item[1], item[2]
            last = lo - 1
            try:
                for row in self.conn.execute(self._asc, (lo, hi)):
                    last = row[0]
                    yield row
                continue
            except sqlite3.DatabaseError:
                pass
            tail: list[tuple[Any, ...]] = []
            first = hi + 1
            try:
                for row in self.conn.execute(self._desc, (last + 1, hi)):
                    first = row[0]
                    tail.append(row)
            except sqlite3.DatabaseError:
                pass
            self._budget -= 2
            stack.append(("rows", tail[::-1]))
            gap_lo, gap_hi = last + 1, first - 1
            if gap_hi < gap_lo:
                continue
            if gap_hi - gap_lo < POINT_RANGE:
                yield from self._points(gap_lo, gap_hi)
            elif self._budget <= 0:
                self.unreadable += 1
            else:
                mid = gap_lo + (gap_hi - gap_lo) // 2
                stack.append(("range", mid + 1, gap_hi))
                stack.append(("range", gap_lo, mid))

    def _points(self, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
        failing = False
        for key in range(lo, hi + 1):
            try:
                row = self.conn.execute(self._one, (key,)).fetchone()
            except sqlite3.DatabaseError:
                self.unreadable += not failing  # a run of failures is one range
                failing = True
                continue
            failing = False
            if row is not None:
                yield row


def _valid_event(row: tuple[Any, ...]) -> bool:
    seq, event_id, type_, priority, payload, size, _at = row
    if priority not in ("critical", "analytics") or not isinstance(payload, bytes):
        return False
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(doc, dict)
        and doc.get("seq") == seq
        and doc.get("id") == event_id
        and doc.get("type") == type_
        and size == len(payload)
    )


def _try_read(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.DatabaseError:
        return []


def _write(conn: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@dataclass(slots=True)
class Salvaged:
    rows: int = 0
    invalid: int = 0
    dead_letters: int = 0
    max_seq: int = 0
    unreadable: int = 0


_PUT_ROW = f"INSERT OR IGNORE INTO outbox ({OUTBOX_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_PUT_DEAD = f"INSERT OR IGNORE INTO dead_letter ({DEAD_LETTER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"


def _copy_outbox(conn: sqlite3.Connection, old: sqlite3.Connection, out: Salvaged) -> None:
    now = time.time()
    good: list[tuple[Any, ...]] = []
    bad: list[tuple[Any, ...]] = []
    prober = _Prober(old, "outbox", OUTBOX_COLS)
    for row in prober.rows():
        out.max_seq = max(out.max_seq, row[0])
        if _valid_event(row):
            good.append(row)
            out.rows += 1
        else:
            detail = "row read from a corrupt edge.db is not a valid event"
            bad.append((row[0], row[1], row[2], row[4], "salvage_invalid", detail, now))
            out.invalid += 1
        if len(good) >= _BATCH:
            _write(conn, _PUT_ROW, good)
            good.clear()
    _write(conn, _PUT_ROW, good)
    _write(conn, _PUT_DEAD, bad)
    out.unreadable += prober.unreadable


def _copy_dead_letters(conn: sqlite3.Connection, old: sqlite3.Connection, out: Salvaged) -> None:
    now = time.time()
    prober = _Prober(old, "dead_letter", DEAD_LETTER_COLS)
    rows = []
    for seq, event_id, type_, payload, reason, detail, at in prober.rows():
        at = at if isinstance(at, int | float) else now
        rows.append(
            (seq, event_id, type_, payload, str(reason or "unknown"), str(detail or ""), at)
        )
        out.max_seq = max(out.max_seq, seq)
    _write(conn, _PUT_DEAD, rows)
    out.dead_letters = len(rows)
    out.unreadable += prober.unreadable


def salvage(conn: sqlite3.Connection, quarantined: Path) -> Salvaged:
    """Copy what can be read from ``quarantined`` into the freshly created ``conn``."""
    out = Salvaged()
    side = [quarantined.with_name(quarantined.name + s) for s in ("-wal", "-shm")]
    existed = [p.exists() for p in side]
    try:
        old = sqlite3.connect(f"file:{quarantined}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error:
        out.unreadable = 1
        return out
    try:
        _read_all(conn, old, out)
    finally:
        old.close()
        wal, shm = side
        # reading a WAL-mode copy creates an empty -wal and an -shm; keep only what was there
        if not existed[0] and wal.exists() and wal.stat().st_size == 0:
            wal.unlink()
            if not existed[1]:
                shm.unlink(missing_ok=True)
    return out


def _read_all(conn: sqlite3.Connection, old: sqlite3.Connection, out: Salvaged) -> None:
    tables = {r[0] for r in _try_read(old, "SELECT name FROM sqlite_master")}
    if not tables:
        out.unreadable = 1  # not even the schema can be read
        return
    if "outbox" in tables:
        _copy_outbox(conn, old, out)
    if "dead_letter" in tables:
        _copy_dead_letters(conn, old, out)
    if "sync_state" in tables:
        state = _try_read(old, "SELECT key, value FROM sync_state")
        _write(conn, "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)", state)
    if "outbox_evicted" in tables:
        evicted = _try_read(old, "SELECT type, count FROM outbox_evicted")
        _write(conn, "INSERT OR REPLACE INTO outbox_evicted (type, count) VALUES (?, ?)", evicted)
    for (seq,) in _try_read(old, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"):
        if isinstance(seq, int):
            out.max_seq = max(out.max_seq, seq)
