"""The ``events`` topic: a batch checked event by event, stored exactly once, acked.

Its limits are ``check_batch``'s (message size, JSON depth, number of events, each
event's size, nesting, integer ranges and Unicode, then its schema) and the store's
(``event_row``: what a column cannot hold); every rejection goes through
``Group.reject``, which caps the message's dead-letter rows. An event that links a visit
or counts a campaign scan must carry a QR token that central verifies again
(``domain.tokens.check``): signature, validity and claims here, revocation in ``write``;
one that fails is dead-lettered as ``bad_token``, and the rest of its batch is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from central_api.domain.tokens.check import BadToken
from central_api.domain.tokens.revocations import revoked_among
from central_api.store.dead_letters import json_text
from central_api.store.events import (
    EventKey,
    Outcome,
    Unstorable,
    event_key,
    event_row,
    insert_events,
)
from edge_sync.protocol import (
    Ack,
    DeadLetterReason,
    Event,
    Rejection,
    ValidEvent,
    check_batch,
    dumps,
    seq_ranges,
    topics,
)
from edge_sync.protocol.topics import UpTopic

from .effects import Effect
from .group import (
    BATCHES,
    DUPLICATES_IGNORED,
    EVENTS_RECEIVED,
    EVENTS_STORED,
    BatchState,
    Group,
    Incoming,
    Outgoing,
)


def prepare(g: Group, msg: Incoming, t: UpTopic, at: datetime) -> None:
    g.device(t).touch(at)
    check = check_batch(msg.payload, t)
    b = BatchState(msg.topic, t, at, check)
    g.batches.append(b)  # answered even when fatal, if it has a batch_id
    if check.fatal is not None:
        g.dead_message(t, msg, at, check.fatal, check.fatal_detail, batch_id=check.batch_id)
        return
    g.count(BATCHES)
    judged = len(check.valid) + len(check.rejected) + len(check.conflicts) + check.duplicates
    g.count(EVENTS_RECEIVED, judged)
    g.count(DUPLICATES_IGNORED, check.duplicates)
    for rej in check.rejected:
        raw = rej.raw
        event_id = raw.get("id") if isinstance(raw, dict) else None
        g.reject(b, rej.rejection, lambda raw=raw: json_text(raw), event_id)
    for rej in check.conflicts:
        # its seq is acked for the batch's first event with it: a dead letter only
        raw = rej.raw
        g.reject(b, rej.rejection, lambda raw=raw: json_text(raw), raw.get("id"), in_ack=False)
    token_check = g.token_check
    for ve in check.valid:
        try:
            verified = token_check.check(ve)
        except BadToken as err:
            _reject(g, b, ve.event, DeadLetterReason.BAD_TOKEN, str(err))
            continue
        try:
            row = event_row(ve, at)
        except Unstorable as err:
            _reject(g, b, ve.event, DeadLetterReason.SCHEMA_VIOLATION, str(err))
            continue
        key = event_key(row)
        g.rows.setdefault(key, row)  # the same event twice in one group: insert once
        b.events.append((ve, key))
        if verified is not None:
            g.tokens[key] = verified


def _event_json(e: Event) -> str:
    try:
        return json_text(e.to_wire())
    except Exception:  # e.g. an occurred_at that cannot be written in UTC
        return json_text(dict(e), default=str)


def _reject(g: Group, b: BatchState, e: Event, reason: DeadLetterReason, detail: str) -> None:
    g.reject(b, Rejection(seq=e.seq, reason=reason, detail=detail), lambda: _event_json(e), e.id)


def write(conn: Connection, g: Group, effects: Sequence[Effect]) -> None:
    """Insert the group's events, sort out duplicates and conflicts, apply the effects of
    the new ones; each batch's answer is then complete."""
    if g.tokens:
        drop_revoked(conn, g)
    outcomes = insert_events(conn, list(g.rows.values()))
    new_events: list[ValidEvent] = []
    applied: set[EventKey] = set()
    for b in g.batches:
        for ve, key in b.events:
            outcome, detail = outcomes[key]
            if outcome is Outcome.CONFLICT:
                _reject(g, b, ve.event, DeadLetterReason.SEQ_CONFLICT, detail)
                continue
            b.acked.append(ve.event.seq)
            if outcome is Outcome.NEW and key not in applied:
                applied.add(key)
                new_events.append(ve)
            else:
                g.count(DUPLICATES_IGNORED)
        g.close(b)
    g.count(EVENTS_STORED, len(new_events))
    if new_events:
        new_events.sort(key=lambda ve: (ve.event.device_id, ve.event.seq))
        assert g.latest is not None
        for effect in effects:
            effect.apply(conn, new_events, g.latest)


def drop_revoked(conn: Connection, g: Group) -> None:
    """Dead-letter the events whose token is revoked (read in this transaction, so an
    erasure committed before it is seen), and keep them from being inserted."""
    revoked = revoked_among(conn, (h for v in g.tokens.values() for h in v.scope_hashes))
    if not len(revoked):
        return
    bad = {key for key, v in g.tokens.items() if revoked.revokes(v.scope_hashes, v.generation)}
    if not bad:
        return
    for b in g.batches:
        kept = []
        for ve, key in b.events:
            if key in bad:
                _reject(g, b, ve.event, DeadLetterReason.BAD_TOKEN, "token is revoked")
            else:
                kept.append((ve, key))
        b.events = kept
    for key in bad:
        g.rows.pop(key, None)
        g.tokens.pop(key, None)


def acks(g: Group) -> list[Outgoing]:
    out = []
    for b in g.batches:
        if b.check.batch_id is None and not b.acked and not b.rejected:
            continue
        ack = Ack(batch_id=b.check.batch_id, acked=seq_ranges(b.acked), rejected=b.rejected)
        out.append(Outgoing(topics.ack(b.topic.store_id, b.topic.device_id), dumps(ack)))
    return out


def valid_events(g: Group) -> list[ValidEvent]:
    return [ve for b in g.batches for ve, _ in b.events]
