"""Central's ingest core: received MQTT messages → one transaction → acks to publish.

The MQTT service around it (``Ingestor.process`` per group of messages, PUBACK and ack
publishing after it returns) lives elsewhere; nothing here touches the network.

Exactly once in effect (docs/architecture.md, "Events"): an event is inserted under unique
keys on ``(device_id, seq)`` and ``id``; its effects run in the same transaction and only
when the insert was new; the ack is published only after the commit. A resent batch is
acked again and counted as duplicates, never applied twice.

Errors: ``process`` does not swallow database errors. ``is_retryable(exc)`` tells the
caller which ones mean "try again later" (database locked or busy, deadlock,
serialization failure, lost connection): retry the group, or message by message. Any
other exception is a bug; retrying message by message isolates the message that
triggers it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from central_api.domain.counters import DeviceTypeCounts, add_ingest_counters
from central_api.domain.devices import (
    BadPayload,
    DeviceSignals,
    apply_signals,
    parse_heartbeat,
    parse_status,
)
from central_api.domain.profile_cache import ProfileCache
from central_api.domain.profile_effects import ProfileEffects
from central_api.store.db import write_transaction
from central_api.store.dead_letters import dead_letter_row, insert_dead_letters, raw_text
from central_api.store.events import (
    EventKey,
    EventRow,
    Outcome,
    Unstorable,
    event_key,
    event_row,
    insert_events,
)
from edge_sync.protocol import (
    Ack,
    BatchCheck,
    DeadLetterReason,
    Rejection,
    ValidEvent,
    check_batch,
    dumps,
    is_ident,
    seq_ranges,
    topics,
    utcnow,
)
from edge_sync.protocol.topics import UpTopic


@dataclass(slots=True)
class Incoming:
    topic: str
    payload: bytes
    #: when central received it (defaults to the start of ``process``)
    received_at: datetime | None = None


@dataclass(slots=True)
class Outgoing:
    """An ack to publish with QoS 1, after ``process`` has returned (= committed)."""

    topic: str
    payload: bytes


class Effect(Protocol):
    """Something that happens because an event was stored for the first time.

    Called once per ``process`` (inside its transaction) with the group's new events in
    (device_id, seq) order. Effects must not depend on arrival order or time (scores and
    journeys use ``occurred_at``); ``received_at`` is the group's latest receive time.
    An effect that keeps state outside the database may also have ``committed()`` and
    ``rolled_back()``, called after the transaction ends; one that must do something
    idempotent in a transaction of its own first, ``before(engine, events)`` (called with
    all of the group's valid events, new or not).
    """

    def apply(
        self, conn: Connection, new_events: list[ValidEvent], received_at: datetime
    ) -> None: ...


def _after(effects: Sequence[Effect], outcome: str) -> None:
    """Tell effects that keep state outside the database (``committed()`` /
    ``rolled_back()``, both optional) how the transaction ended."""
    for effect in effects:
        hook = getattr(effect, outcome, None)
        if hook is not None:
            hook()


def default_effects(cache_facts: int = 100_000) -> tuple[Effect, ...]:
    """Counters, identity and re-derivation; a new set per ``Ingestor`` (what the profile
    effects remember belongs to one database). ``cache_facts``: see ``ProfileCache``."""
    cache = ProfileCache(max_facts=cache_facts) if cache_facts > 0 else None
    # Counters last: their rows are shared by every transaction, so they are locked for
    # the shortest time (see ``_write``).
    return (ProfileEffects(cache=cache), DeviceTypeCounts())


#: SQLite reports missing tables and syntax errors as OperationalError too; only these pass
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o error", "database or disk is full")


def is_retryable(exc: BaseException) -> bool:
    """True for database errors that may pass on retry: a locked or busy database, a
    deadlock or serialization failure, a lost connection, a full disk."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        return any(s in str(exc.orig).lower() for s in _SQLITE_TRANSIENT)
    return isinstance(exc, OperationalError | InterfaceError)


@dataclass(slots=True)
class _Batch:
    topic_name: str
    topic: UpTopic
    received_at: datetime
    check: BatchCheck
    events: list[tuple[ValidEvent, EventKey]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    batches: list[_Batch] = field(default_factory=list)
    rows: dict[EventKey, EventRow] = field(default_factory=dict)
    dead: list[dict[str, Any]] = field(default_factory=list)
    signals: dict[str, DeviceSignals] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    latest: datetime | None = None

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def device(self, t: UpTopic) -> DeviceSignals:
        sig = self.signals.get(t.device_id)
        if sig is None:
            sig = self.signals[t.device_id] = DeviceSignals(t.store_id)
        sig.store_id = t.store_id
        return sig

    def absorb(self, other: _Group) -> None:
        """Add another group's messages, as if they had been prepared in this one."""
        self.batches += other.batches
        for key, row in other.rows.items():
            self.rows.setdefault(key, row)
        self.dead += other.dead
        for device_id, sig in other.signals.items():
            mine = self.signals.get(device_id)
            if mine is None:
                self.signals[device_id] = sig
            else:
                mine.absorb(sig)
        for name, n in other.counters.items():
            self.count(name, n)
        if other.latest is not None:
            self.latest = other.latest if self.latest is None else max(self.latest, other.latest)

    def dead_letter(self, t: UpTopic | None, **fields: Any) -> None:
        if t is not None:
            fields.update(device_id=t.device_id, store_id=t.store_id)
        self.dead.append(dead_letter_row(**fields))


class Prepared:
    """Messages parsed and validated, not yet written (see ``Ingestor.prepare``)."""

    __slots__ = ("_group",)

    def __init__(self, group: _Group) -> None:
        self._group: _Group | None = group

    @property
    def messages(self) -> int:
        return self._live().counters.get("messages", 0)

    def merge(self, other: Prepared) -> None:
        """Take ``other``'s messages into this group (``other`` is used up)."""
        self._live().absorb(other.take())

    def take(self) -> _Group:
        group = self._live()
        self._group = None
        return group

    def _live(self) -> _Group:
        if self._group is None:
            raise RuntimeError("this prepared group was already committed or merged")
        return self._group


class Ingestor:
    """Turns groups of received messages into database state and acks.

    Thread-safe: each ``process`` call uses its own connection and transaction, so
    several threads or processes may ingest into the same database at once.
    """

    def __init__(self, engine: Engine, effects: Sequence[Effect] | None = None) -> None:
        self.engine = engine
        self.effects = tuple(effects) if effects is not None else default_effects()

    def process(self, messages: list[Incoming]) -> list[Outgoing]:
        """Apply all ``messages`` in ONE transaction (group commit) and return the acks
        to publish once this returns. Raises on database errors (see ``is_retryable``);
        then nothing was committed and no ack may be sent."""
        return self.commit(self.prepare(messages))

    def prepare(self, messages: list[Incoming]) -> Prepared:
        """The part of ``process`` that needs no database (parse, validate, build rows),
        so that it can run while another group is being written. Prepared groups can be
        ``merge``d and are committed with ``commit``."""
        now = utcnow()
        group = _Group()
        for msg in messages:
            at = msg.received_at or now
            if at.tzinfo is None:
                raise ValueError("Incoming.received_at must be timezone-aware")
            self._prepare(group, msg, at)
        return Prepared(group)

    def commit(self, prepared: Prepared) -> list[Outgoing]:
        """Write a prepared group in one transaction; the acks to publish afterwards.

        A prepared group is used up by a commit, whether it succeeds or raises: to retry,
        prepare the messages again."""
        group = prepared.take()
        if not group.batches and not group.signals and not group.dead and not group.counters:
            return []
        events = [ve for b in group.batches for ve, _ in b.events]
        for effect in self.effects:
            before = getattr(effect, "before", None)
            if before is not None and events:
                before(self.engine, events)
        try:
            with write_transaction(self.engine) as conn:
                self._write(conn, group)
        except BaseException:
            _after(self.effects, "rolled_back")
            raise
        _after(self.effects, "committed")
        return self._acks(group)

    def _prepare(self, g: _Group, msg: Incoming, at: datetime) -> None:
        """Everything that needs no database: parse, validate, build rows."""
        g.count("messages")
        g.latest = at if g.latest is None else max(g.latest, at)
        t = topics.parse_up(msg.topic)
        whole = {"received_at": at, "topic": msg.topic, "payload": raw_text(msg.payload)}
        if t is None or not (is_ident(t.store_id) and is_ident(t.device_id)):
            detail = "topic is not omk/v1/up/{store}/{device}/{kind} with valid ids"
            g.dead_letter(
                None, reason=DeadLetterReason.DEVICE_TOPIC_MISMATCH, detail=detail, **whole
            )
        elif t.kind == "events":
            self._prepare_batch(g, msg, t, at)
        elif t.kind == "status":
            if not msg.payload:
                return  # clearing the retained status: nothing to record
            sig = g.device(t)
            try:
                status = parse_status(msg.payload)
            except BadPayload as err:
                sig.touch(at)
                g.dead_letter(t, reason=err.reason, detail=err.detail, **whole)
                return
            # A last will is published by the broker, not by the device: not a sign of life.
            sig.touch(at, seen=status.state == "online")
            sig.statuses.append((at, status))
        elif t.kind == "heartbeat":
            sig = g.device(t)
            sig.touch(at)
            try:
                sig.heartbeats.append((at, parse_heartbeat(msg.payload)))
            except BadPayload as err:
                g.dead_letter(t, reason=err.reason, detail=err.detail, **whole)
        else:
            g.device(t).touch(at)  # cmd_result: handled by a later step

    def _prepare_batch(self, g: _Group, msg: Incoming, t: UpTopic, at: datetime) -> None:
        g.device(t).touch(at)
        check = check_batch(msg.payload, t)
        b = _Batch(msg.topic, t, at, check)
        g.batches.append(b)
        common = {"received_at": at, "topic": msg.topic, "batch_id": check.batch_id}
        if check.fatal is not None:
            payload = raw_text(msg.payload)
            g.dead_letter(
                t, reason=check.fatal, detail=check.fatal_detail, payload=payload, **common
            )
            return
        for rej in check.rejected:
            raw = rej.raw
            g.dead_letter(
                t,
                reason=rej.rejection.reason,
                detail=rej.rejection.detail,
                payload=json.dumps(raw, ensure_ascii=False),
                seq=rej.rejection.seq,
                event_id=raw.get("id") if isinstance(raw, dict) else None,
                **common,
            )
            if rej.rejection.seq >= 1:  # seq 0: nothing the device could match it by
                b.rejected.append(rej.rejection)
        for ve in check.valid:
            try:
                row = event_row(ve, at)
            except Unstorable as err:
                self._reject(g, b, ve, DeadLetterReason.SCHEMA_VIOLATION, str(err))
                continue
            key = event_key(row)
            g.rows.setdefault(key, row)  # the same event twice in one group: insert once
            b.events.append((ve, key))

    @staticmethod
    def _reject(
        g: _Group, b: _Batch, ve: ValidEvent, reason: DeadLetterReason, detail: str
    ) -> None:
        e = ve.event
        try:
            payload = json.dumps(e.to_wire(), ensure_ascii=False)
        except Exception:  # e.g. an occurred_at that cannot be written in UTC
            payload = json.dumps(dict(e), ensure_ascii=False, default=str)
        g.dead_letter(
            b.topic,
            received_at=b.received_at,
            topic=b.topic_name,
            reason=reason,
            detail=detail,
            payload=payload,
            batch_id=b.check.batch_id,
            seq=e.seq,
            event_id=e.id,
        )
        b.rejected.append(Rejection(seq=e.seq, reason=reason, detail=detail))

    def _write(self, conn: Connection, g: _Group) -> None:
        # Statement order is the lock order, the same in every worker: events, effects
        # (sorted counter rows), dead letters, devices (sorted), ingest counters (the
        # hottest rows, last so they are held for the shortest time).
        outcomes = insert_events(conn, list(g.rows.values()))
        new_events: list[ValidEvent] = []
        applied: set[EventKey] = set()
        for b in g.batches:
            for ve, key in b.events:
                outcome, detail = outcomes[key]
                if outcome is Outcome.CONFLICT:
                    self._reject(g, b, ve, DeadLetterReason.SEQ_CONFLICT, detail)
                    continue
                b.acked.append(ve.event.seq)
                if outcome is Outcome.NEW and key not in applied:
                    applied.add(key)
                    new_events.append(ve)
                else:
                    g.count("duplicates_ignored")
        g.count("events_stored", len(new_events))
        if new_events:
            new_events.sort(key=lambda ve: (ve.event.device_id, ve.event.seq))
            assert g.latest is not None
            for effect in self.effects:
                effect.apply(conn, new_events, g.latest)
        insert_dead_letters(conn, g.dead)
        g.count("dead_letters", len(g.dead))
        apply_signals(conn, g.signals)
        add_ingest_counters(conn, g.counters)

    @staticmethod
    def _acks(g: _Group) -> list[Outgoing]:
        out = []
        for b in g.batches:
            if b.check.batch_id is None and not b.acked and not b.rejected:
                continue
            ack = Ack(batch_id=b.check.batch_id, acked=seq_ranges(b.acked), rejected=b.rejected)
            out.append(Outgoing(topics.ack(b.topic.store_id, b.topic.device_id), dumps(ack)))
        return out
