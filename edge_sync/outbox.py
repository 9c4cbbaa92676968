"""The durable outbox: every event is committed here before the kiosk shows success.

The kiosk enqueues; the sync daemon (another process, same file) fetches batches,
publishes them and deletes what central acks. ``seq`` comes from SQLite's
AUTOINCREMENT counter, read and advanced inside the enqueue's write transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from . import clock
from .caps import COUNT_EVICTED, Fill, evict_oldest, room_needed
from .config import DeviceConfig
from .db import BUSY_TIMEOUT_MS, RecoveryInfo, open_edge_db
from .errors import EdgeError, EventRejected, OutboxFull, from_sqlite
from .nudge import Nudger
from .protocol import (
    MAX_EVENT_BYTES,
    REGISTRY,
    Event,
    Priority,
    Rejection,
    SchemaViolation,
    UnknownEventType,
    is_ident,
    new_event_id,
    parse_ts,
)
from .protocol.ids import SEQ_MAX
from .schema import now_us, set_seq_floor

#: compact JSON exactly as ``protocol.dumps`` writes it, without building an encoder per call
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_CRITICAL, _ANALYTICS = Priority.CRITICAL.value, Priority.ANALYTICS.value
_PRIORITY = {(et.name, et.version): et.priority.value for et in REGISTRY}
_TYPE_JSON = {et.name: _ENCODE(et.name) for et in REGISTRY}
_JSON_BOOL = {True: "true", False: "false"}

_STATE = (
    "SELECT rows, bytes, critical_rows, critical_bytes,"
    " (SELECT seq FROM sqlite_sequence WHERE name = 'outbox') FROM outbox_meta WHERE id = 1"
)
_INSERT = (
    "INSERT INTO outbox (seq, event_id, type, priority, payload, size, enqueued_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_CONSUME_SEQ = "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'"
_FETCH = "SELECT seq, payload, priority FROM outbox WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
_DEAD_LETTER = (
    "INSERT OR IGNORE INTO dead_letter (seq, event_id, type, payload, reason, detail, at)"
    " SELECT seq, event_id, type, payload, ?, ?, ? FROM outbox WHERE seq = ?"
)


@dataclass(slots=True)
class OutboxRow:
    seq: int
    payload: bytes  # the event's exact wire JSON
    priority: str


@dataclass(slots=True)
class Enqueued:
    event: Event
    #: False when the outbox was full and this analytics event was dropped (and counted)
    stored: bool
    #: older analytics events evicted to make room for this one
    evicted: int = 0


@dataclass(frozen=True, slots=True)
class AckResult:
    acked: int  # rows deleted
    dead_lettered: int  # rows moved to dead_letter


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    bytes: int
    #: {"critical": {"rows": n, "bytes": n}, "analytics": {...}}
    by_priority: dict[str, dict[str, int]]
    oldest_unsent_age_s: float | None
    evicted_total: int
    evicted_by_type: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0


class Outbox:
    #: central rejects larger events as ``oversize``, so they are refused here already
    max_event_bytes: int = MAX_EVENT_BYTES

    def __init__(
        self,
        db_path: Path,
        *,
        store_id: str,
        device_id: str,
        max_rows: int,
        max_bytes: int,
        clock_source: str = "kernel",
    ) -> None:
        for name, value in (("store_id", store_id), ("device_id", device_id)):
            if not is_ident(value):
                raise ValueError(f"{name} {value!r} is not a valid id")
        if clock_source not in clock.CLOCK_SOURCES:
            raise ValueError(f"unknown clock source {clock_source!r}")
        self.path = Path(db_path)
        self.store_id, self.device_id = store_id, device_id
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self._clock_source = clock_source
        self._boot_id = clock.boot_id()
        self._ids_json = f'"store_id":{_ENCODE(store_id)},"device_id":{_ENCODE(device_id)}'
        self._boot_json = f'"boot_id":{_ENCODE(self._boot_id)}'
        self._ts_cache: tuple[int, str] = (-1, "")
        self._lock = threading.Lock()
        # No analytics row at or below this seq is left: this process evicted them all
        # (oldest-first), and seqs only grow. Eviction starts its scan here.
        self._evicted_upto = 0
        conn, self.recovery = open_edge_db(self.path)
        self._conn: sqlite3.Connection | None = conn
        self._nudger = Nudger(self.path)

    @classmethod
    def from_config(cls, cfg: DeviceConfig) -> Outbox:
        return cls(
            cfg.db_path,
            store_id=cfg.device.store_id,
            device_id=cfg.device.id,
            max_rows=cfg.outbox.max_rows,
            max_bytes=cfg.outbox.max_bytes,
            clock_source=cfg.clock.source,
        )

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise EdgeError(f"the outbox {self.path} is closed")
        return self._conn

    def _raise(self, err: BaseException, what: str) -> NoReturn:
        """Raise our own error for the SQLite failures a caller can act on, else ``err``."""
        mine = from_sqlite(err, self.path, what, BUSY_TIMEOUT_MS / 1000)
        if mine is not None:
            raise mine from err
        raise err

    # -- enqueue ------------------------------------------------------------------------

    def enqueue(
        self, type: str, data: dict[str, Any], session_id: str | None = None, *, v: int = 1
    ) -> Event:
        """Store one event durably and return it (only after COMMIT).

        An analytics event that does not fit even after evicting older analytics events is
        dropped and counted, and its Event is still returned; ``enqueue_result`` says which.
        """
        return self.enqueue_result(type, data, session_id, v=v).event

    def enqueue_result(
        self, type: str, data: dict[str, Any], session_id: str | None = None, *, v: int = 1
    ) -> Enqueued:
        return self.enqueue_many([(type, data)], session_id, v=v)[0]

    def enqueue_many(
        self,
        items: Sequence[tuple[str, dict[str, Any]]],
        session_id: str | None = None,
        *,
        v: int = 1,
        within: Callable[[sqlite3.Connection], None] | None = None,
    ) -> list[Enqueued]:
        """Store several events of one moment in one transaction: all of them or none (a
        recipient code's ``visit.linked`` and ``campaign.scanned``). Each is checked
        first, so one bad event stores nothing. ``within(conn)`` runs in the transaction,
        under the write lock, before the events: its writes commit with them, and what it
        raises stores nothing (a pickup's state check and handover, ``pickups.desk``)."""
        checked = [(type, *self._check(type, v, data, session_id)) for type, data in items]
        # the facts happened now, not when the write lock becomes free
        now_ns, mono_ns = time.time_ns(), time.monotonic_ns()
        occurred_at = self._ts_text(now_ns)
        synced = clock.clock_synced(self._clock_source)
        # The wire JSON is assembled around the parts that need encoding, in Event's field
        # order: the same bytes as protocol.dumps(event) (tests/edge check it) for a fraction
        # of the cost, which matters because enqueue is on the kiosk's critical path.
        common = (
            f',"v":{v},{self._ids_json},"occurred_at":"{occurred_at}"'
            f',"mono_ns":{mono_ns},{self._boot_json},"clock_synced":{_JSON_BOOL[synced]}'
            f',"session_id":{_ENCODE(session_id)},"data":'
        )
        prepared = [
            (t, priority, data, new_event_id(), f',"type":{_TYPE_JSON[t]}{common}{_ENCODE(data)}}}')
            for t, priority, data in checked
        ]
        done: list[tuple[str, dict[str, Any], str, int, bool, int]] = []
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
                if within is not None:
                    within(conn)
                evicted_upto = self._evicted_upto
                for t, priority, data, event_id, tail in prepared:
                    rows, nbytes, crit_rows, crit_bytes, last = conn.execute(_STATE).fetchone()
                    seq = self._next_seq(conn, last)
                    payload = f'{{"id":"{event_id}","seq":{seq}{tail}'.encode()
                    size = len(payload)
                    if size > self.max_event_bytes:
                        limit = self.max_event_bytes
                        raise EventRejected(t, f"event is {size} bytes, limit {limit}")
                    stored, evicted = True, 0
                    if rows + 1 > self.max_rows or nbytes + size > self.max_bytes:
                        fill = Fill(rows, nbytes, crit_rows, crit_bytes)
                        need = room_needed(fill, size, priority, t, self.max_rows, self.max_bytes)
                        if need is None:
                            stored = False
                        else:
                            evicted, evicted_to = evict_oldest(conn, evicted_upto, *need)
                            evicted_upto = max(evicted_upto, evicted_to)
                    if stored:
                        row = (seq, event_id, t, priority, payload, size, now_ns / 1e9)
                        conn.execute(_INSERT, row)
                    else:
                        # the seq is used up all the same, so no other event ever carries it
                        conn.execute(_CONSUME_SEQ, (seq,))
                        conn.execute(COUNT_EVICTED, (t, 1))
                    done.append((t, data, event_id, seq, stored, evicted))
                conn.execute("COMMIT")
                self._evicted_upto = evicted_upto
                if any(d[4] for d in done):
                    self._nudger.nudge()  # the daemon sends it now, not at its next poll
            except BaseException as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                what = f"event {prepared[0][0]!r} was" if len(prepared) == 1 else "events were"
                self._raise(err, f"{what} not stored")
        # Built after the commit, outside the write lock, and without re-validation:
        # every field was made here or checked by _check above.
        at = parse_ts(occurred_at)
        return [
            Enqueued(
                Event.model_construct(
                    id=event_id, seq=seq, type=t, v=v, store_id=self.store_id,
                    device_id=self.device_id, occurred_at=at, mono_ns=mono_ns,
                    boot_id=self._boot_id, clock_synced=synced, session_id=session_id, data=data,
                ),
                stored,
                evicted,
            )
            for t, data, event_id, seq, stored, evicted in done
        ]  # fmt: skip

    @staticmethod
    def _check(
        type: str, v: int, data: dict[str, Any], session_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        if isinstance(v, bool) or not isinstance(v, int):  # True would print as True
            raise EventRejected(type, f"v: must be an integer, got {v!r}")
        try:
            data = REGISTRY.validate_data(type, v, data)
            priority = _PRIORITY[(type, v)]
        except UnknownEventType as err:
            raise EventRejected(type, str(err), err) from None
        except SchemaViolation as err:
            raise EventRejected(type, err.detail, err) from None
        if session_id is not None and not (
            isinstance(session_id, str) and 0 < len(session_id) <= 64
        ):
            raise EventRejected(type, "session_id: must be a string of 1 to 64 characters")
        return priority, data

    def _ts_text(self, now_ns: int) -> str:
        """``format_ts`` for a time.time_ns() value; the second's text is made once a second."""
        sec, rem = divmod(now_ns, 1_000_000_000)
        cached = self._ts_cache
        if cached[0] != sec:  # one tuple, swapped whole: safe with several threads
            cached = self._ts_cache = (sec, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec)))
        return f"{cached[1]}{rem // 1_000_000:03d}Z"

    def _next_seq(self, conn: sqlite3.Connection, last: int | None) -> int:
        if last is None:  # the sqlite_sequence row is gone (someone edited the file)
            top = conn.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0
            last = max(top, now_us())
            set_seq_floor(conn, last)
        if last >= SEQ_MAX:
            raise OutboxFull("the outbox has used up every 64-bit seq")
        return last + 1

    # -- the daemon's side --------------------------------------------------------------

    def fetch(
        self, after_seq: int, limit: int, max_bytes: int, up_to_seq: int | None = None
    ) -> list[OutboxRow]:
        """Rows with ``after_seq < seq <= up_to_seq`` in seq order, as many as fit in
        ``max_bytes`` of payload (always at least one) and ``limit``."""
        out: list[OutboxRow] = []
        total = 0
        upper = SEQ_MAX if up_to_seq is None else up_to_seq
        with self._lock:
            cur = self._db().execute(_FETCH, (after_seq, upper, max(limit, 1)))
            try:
                for seq, payload, priority in cur:
                    total += len(payload)
                    if out and total > max_bytes:
                        break
                    out.append(OutboxRow(seq, payload, priority))
            finally:
                cur.close()  # ends the read snapshot, which would otherwise hold back checkpoints
        return out

    def max_seq(self) -> int:
        with self._lock:
            return self._db().execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0

    def apply_ack(self, acked: list[tuple[int, int]], rejected: list[Rejection]) -> AckResult:
        """Delete acked seq ranges and move rejected seqs to dead_letter, in one transaction.

        Idempotent: seqs that are already gone (acked before, evicted) are skipped.
        """
        n_acked = n_dead = 0
        at = time.time()
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
                for rej in rejected:
                    reason = getattr(rej.reason, "value", rej.reason)
                    n_dead += conn.execute(_DEAD_LETTER, (reason, rej.detail, at, rej.seq)).rowcount
                    conn.execute("DELETE FROM outbox WHERE seq = ?", (rej.seq,))
                for lo, hi in acked:
                    cur = conn.execute("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", (lo, hi))
                    n_acked += cur.rowcount
                conn.execute("COMMIT")
            except BaseException as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._raise(err, "the ack was not applied (it will be resent)")
        return AckResult(n_acked, n_dead)

    def stats(self) -> OutboxStats:
        with self._lock:
            conn = self._db()
            conn.execute("BEGIN")  # one snapshot for all three reads
            try:
                rows, nbytes, crit_rows, crit_bytes, dead = conn.execute(
                    "SELECT rows, bytes, critical_rows, critical_bytes, dead_letters"
                    " FROM outbox_meta WHERE id = 1"
                ).fetchone()
                oldest = conn.execute(
                    "SELECT enqueued_at FROM outbox ORDER BY seq LIMIT 1"
                ).fetchone()
                evicted = dict(conn.execute("SELECT type, count FROM outbox_evicted"))
            finally:
                conn.execute("COMMIT")
        return OutboxStats(
            depth=rows,
            bytes=nbytes,
            by_priority={
                _CRITICAL: {"rows": crit_rows, "bytes": crit_bytes},
                _ANALYTICS: {"rows": rows - crit_rows, "bytes": nbytes - crit_bytes},
            },
            oldest_unsent_age_s=max(0.0, time.time() - oldest[0]) if oldest else None,
            evicted_total=sum(evicted.values()),
            evicted_by_type=evicted,
            dead_letters=dead,
        )

    # -- sync_state ---------------------------------------------------------------------

    def set_state(self, key: str, value: Any) -> None:
        """Record ``value`` (anything JSON can hold) under ``key`` in ``sync_state``."""
        with self._lock:
            try:
                self._db().execute(
                    "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                    (key, json.dumps(value)),
                )
            except sqlite3.OperationalError as err:
                self._raise(err, f"{key} was not recorded")

    def get_state(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = (
                self._db().execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
            )
        return default if row is None else json.loads(row[0])

    def close(self) -> None:
        with self._lock:
            self._nudger.close()
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["AckResult", "Enqueued", "Outbox", "OutboxRow", "OutboxStats", "RecoveryInfo"]
