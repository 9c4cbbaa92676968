"""Inserting events exactly once, and telling duplicates from conflicts.

Both unique keys, ``(device_id, seq)`` and ``id``, are enforced by the database with
``INSERT … ON CONFLICT DO NOTHING RETURNING``, so concurrent ingest workers need no
coordination: whichever commits first stores the event, the other sees it as a
duplicate. A row that was not inserted is a *duplicate* when the same id is already
stored for the same device and seq, and a *conflict* otherwise (a device reusing a seq
for another event, or an id reused under another seq).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from edge_sync.protocol import ValidEvent

from .bulk import insert_columns
from .sql import BIGINT_MAX, chunks
from .tables import events

#: (id, device_id, seq): what makes two copies of an event the same event
EventKey = tuple[str, str, int]


class Outcome(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class Unstorable(Exception):
    """A valid event that the database cannot hold as it is (rejected, not fatal)."""


#: an ``events`` row as a tuple, in the table's column order (the ingest hot path)
EventRow = tuple[Any, ...]
COLUMNS = tuple(c.name for c in events.c)
assert COLUMNS[:4] == ("id", "device_id", "store_id", "seq")


def event_row(ve: ValidEvent, received_at: datetime) -> EventRow:
    """The ``events`` row (in ``COLUMNS`` order) for a checked event, or ``Unstorable``."""
    e = ve.event
    for name in ("boot_id", "session_id"):
        value = getattr(e, name)
        if value is not None and "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise Unstorable(f"{name}: NUL character is not allowed")
    if e.mono_ns > BIGINT_MAX:
        raise Unstorable("mono_ns: out of 64-bit range")
    try:
        occurred_at = e.occurred_at.astimezone(UTC)
    except OverflowError:
        raise Unstorable("occurred_at: out of range in UTC") from None
    return (
        e.id, e.device_id, e.store_id, e.seq, e.type, e.v, occurred_at, received_at,
        e.mono_ns, e.boot_id, e.clock_synced, e.session_id, ve.data,
    )  # fmt: skip


def event_key(row: EventRow) -> EventKey:
    return (row[0], row[1], row[3])


_NEW = (Outcome.NEW, "")
_RETURNING = ("id", "device_id", "seq")


@dataclass(slots=True)
class Outcomes:
    """What ``insert_events`` found for each row's key."""

    inserted: set[EventKey]
    others: dict[EventKey, tuple[Outcome, str]]

    def __getitem__(self, key: EventKey) -> tuple[Outcome, str]:
        """``(outcome, detail)``; ``detail`` explains a conflict."""
        return _NEW if key in self.inserted else self.others[key]


def insert_events(conn: Connection, rows: Sequence[EventRow]) -> Outcomes:
    """Insert event rows (distinct keys) and classify each: new, duplicate or conflict.

    Rows are sent in (device_id, seq) order so that two workers inserting overlapping
    batches take their index locks in the same order.
    """
    ordered = sorted(rows, key=itemgetter(1, 3))
    if not ordered:
        return Outcomes(set(), {})
    # ``insert(events).on_conflict_do_nothing().returning(...)`` in few statements, with
    # the columns' own bind processors (see ``bulk``): going through SQLAlchemy's
    # executemany instead costs more than the database's own work.
    columns = [list(col) for col in zip(*ordered, strict=True)]
    returned = None
    if conn.dialect.name == "postgresql":
        # Duplicates are the exception (a resend), and ON CONFLICT's speculative
        # insertion costs the server about half as much again as a plain INSERT: try
        # that first, inside a savepoint, and fall back when a key is taken.
        savepoint = conn.begin_nested()
        try:
            insert_columns(conn, events, COLUMNS, list(columns))  # COPY: all or nothing
            savepoint.commit()
            returned = list(map(event_key, ordered))
        except IntegrityError:
            savepoint.rollback()
            returned = None
    if returned is None:
        returned = insert_columns(
            conn, events, COLUMNS, columns, ignore_conflicts=True, returning=_RETURNING
        )
    inserted: set[EventKey] = set(returned)  # type: ignore[arg-type]
    missing = [k for k in map(event_key, ordered) if k not in inserted]
    return Outcomes(inserted, _classify(conn, missing) if missing else {})


def _classify(conn: Connection, keys: list[EventKey]) -> dict[EventKey, tuple[Outcome, str]]:
    # Read committed (PostgreSQL) / our own write lock (SQLite): whatever blocked the
    # insert is visible to this statement.
    by_id: dict[str, tuple[str, int]] = {}
    for chunk in chunks(sorted({k[0] for k in keys}), 500):
        q = select(events.c.id, events.c.device_id, events.c.seq).where(events.c.id.in_(chunk))
        by_id.update({r.id: (r.device_id, r.seq) for r in conn.execute(q)})
    seqs_by_device: dict[str, set[int]] = defaultdict(set)
    for _, device_id, seq in keys:
        seqs_by_device[device_id].add(seq)
    by_seq: dict[tuple[str, int], str] = {}
    for device_id, seqs in sorted(seqs_by_device.items()):
        for chunk in chunks(sorted(seqs), 500):
            q = select(events.c.id, events.c.seq).where(
                events.c.device_id == device_id, events.c.seq.in_(chunk)
            )
            by_seq.update({(device_id, r.seq): r.id for r in conn.execute(q)})

    out: dict[EventKey, tuple[Outcome, str]] = {}
    for key in keys:
        event_id, device_id, seq = key
        if by_id.get(event_id) == (device_id, seq):
            out[key] = (Outcome.DUPLICATE, "")
        elif (device_id, seq) in by_seq:
            other = by_seq[(device_id, seq)]
            out[key] = (Outcome.CONFLICT, f"seq {seq} is already stored with id {other}")
        elif event_id in by_id:
            other_device, other_seq = by_id[event_id]
            out[key] = (
                Outcome.CONFLICT,
                f"id {event_id} is already stored as {other_device} seq {other_seq}",
            )
        else:
            # ON CONFLICT only skips a row for a committed (or our own) conflicting row,
            # and nothing deletes events: reaching this is a bug, not bad input.
            raise RuntimeError(
                f"event {event_id} ({device_id} seq {seq}) was neither stored nor found"
            )
    return out
