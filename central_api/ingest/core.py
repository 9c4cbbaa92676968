"""``Ingestor``: a group of received messages → one transaction → the acks to publish.

Each message goes to the handler of its topic kind (``HANDLERS``), which parses and
checks it within that kind's limits and records how it ends (see ``group``); the
transaction then writes events, dead letters, device rows and counters together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine

from central_api.domain.fleet.counters import add_ingest_counters
from central_api.domain.fleet.devices import apply_signals
from central_api.domain.tokens.check import TokenCheck
from central_api.store.db import write_transaction
from central_api.store.dead_letters import insert_dead_letters
from edge_sync.protocol import DeadLetterReason, is_ident, topics, utcnow
from edge_sync.protocol.topics import UpTopic

from . import cmd_result, events, heartbeat, status
from .effects import Effect, after_transaction, default_effects
from .group import DEAD_LETTERS, MESSAGES, Group, Incoming, Outgoing

Handler = Callable[[Group, Incoming, UpTopic, datetime], None]

#: one handler per kind of ``omk/v1/up/{store}/{device}/{kind}`` message
HANDLERS: dict[str, Handler] = {
    "events": events.prepare,
    "status": status.prepare,
    "heartbeat": heartbeat.prepare,
    "cmd_result": cmd_result.prepare,
}
assert set(HANDLERS) == set(topics.UP_KINDS)


class Prepared:
    """Messages parsed and validated, not yet written (see ``Ingestor.prepare``)."""

    __slots__ = ("_group",)

    def __init__(self, group: Group) -> None:
        self._group: Group | None = group

    @property
    def messages(self) -> int:
        return self._live().counters.get(MESSAGES, 0)

    def merge(self, other: Prepared) -> None:
        """Take ``other``'s messages into this group (``other`` is used up)."""
        self._live().absorb(other.take())

    def take(self) -> Group:
        group = self._live()
        self._group = None
        return group

    def _live(self) -> Group:
        if self._group is None:
            raise RuntimeError("this prepared group was already committed or merged")
        return self._group


class Ingestor:
    """Turns groups of received messages into database state and acks.

    Thread-safe: each ``process`` call uses its own connection and transaction, so
    several threads or processes may ingest into the same database at once.
    """

    def __init__(
        self,
        engine: Engine,
        effects: Sequence[Effect] | None = None,
        tokens: TokenCheck | None = None,
    ) -> None:
        """``tokens``: how QR tokens in events are checked. Central passes its keys
        (``cli.run_central``); without, ``TokenCheck.legacy()``: no keys, so every token
        fails and only untokened v1 links pass (tools and tests that replay history)."""
        self.engine = engine
        self.effects = tuple(effects) if effects is not None else default_effects()
        self.tokens = tokens if tokens is not None else TokenCheck.legacy()

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
        group = Group(token_check=self.tokens)
        for msg in messages:
            at = msg.received_at or now
            if at.tzinfo is None:
                raise ValueError("Incoming.received_at must be timezone-aware")
            group.count(MESSAGES)
            group.latest = at if group.latest is None else max(group.latest, at)
            t = topics.parse_up(msg.topic)
            if t is None or not (is_ident(t.store_id) and is_ident(t.device_id)):
                detail = "topic is not omk/v1/up/{store}/{device}/{kind} with valid ids"
                group.dead_message(None, msg, at, DeadLetterReason.DEVICE_TOPIC_MISMATCH, detail)
            else:
                HANDLERS[t.kind](group, msg, t, at)
        return Prepared(group)

    def commit(self, prepared: Prepared) -> list[Outgoing]:
        """Write a prepared group in one transaction; the acks to publish afterwards.

        A prepared group is used up by a commit, whether it succeeds or raises: to retry,
        prepare the messages again."""
        group = prepared.take()
        if not group.batches and not group.signals and not group.dead and not group.counters:
            return []
        if group.tokens:
            # Before anything is written for these events (a ``before`` hook creates the
            # profiles they name): an erased profile's link must not make it again. Read
            # again inside the transaction, for a revocation committed meanwhile.
            with self.engine.connect() as conn:
                events.drop_revoked(conn, group)
        valid = events.valid_events(group)
        for effect in self.effects:
            before = getattr(effect, "before", None)
            if before is not None and valid:
                before(self.engine, valid)
        try:
            with write_transaction(self.engine) as conn:
                self._write(conn, group)
        except BaseException:
            after_transaction(self.effects, "rolled_back")
            raise
        after_transaction(self.effects, "committed")
        return events.acks(group)

    def dead_letter_failed(self, msg: Incoming, error: BaseException) -> None:
        """Keep a message that central failed on (a bug, not bad input) as an
        ``ingest_error`` dead letter, in a transaction of its own, so that it is
        accounted for like every other message. Raises on database errors."""
        group = Group()
        at = msg.received_at or utcnow()
        group.count(MESSAGES)
        t = topics.parse_up(msg.topic)
        if t is not None and not (is_ident(t.store_id) and is_ident(t.device_id)):
            t = None
        detail = f"central failed on this message: {type(error).__name__}: {error}"
        group.dead_message(t, msg, at, DeadLetterReason.INGEST_ERROR, detail)
        with write_transaction(self.engine) as conn:
            insert_dead_letters(conn, group.dead)
            group.count(DEAD_LETTERS, len(group.dead))
            add_ingest_counters(conn, group.counters)

    def _write(self, conn: Connection, g: Group) -> None:
        # Statement order is the lock order, the same in every worker: events, effects
        # (sorted counter rows), dead letters, devices (sorted), ingest counters (the
        # hottest rows, last so they are held for the shortest time).
        events.write(conn, g, self.effects)
        insert_dead_letters(conn, g.dead)
        g.count(DEAD_LETTERS, len(g.dead))
        apply_signals(conn, g.signals)
        add_ingest_counters(conn, g.counters)
