"""One group of received messages on its way to one transaction, and how each message's
end is recorded: counters, dead letters, and the per-message cap on dead letters.

Every message is counted once in ``messages`` and ends in exactly one of:

* ``messages_dead_lettered`` — the message as a whole is one dead letter;
* ``batches`` — an events message answered event by event: each of its events is
  counted once in ``events_received`` and ends in exactly one of ``events_stored``,
  ``duplicates_ignored`` or ``events_rejected``;
* ``signals`` — a status or heartbeat applied to the device's row.

``dead_letters`` counts dead-letter rows written. A message's rejected events get a row
each up to ``MAX_DEAD_LETTERS_PER_MESSAGE``; the rest (``rejections_folded``) share one
``truncated`` row that carries their number, reasons and seqs. So::

    messages == messages_dead_lettered + batches + signals
    events_received == events_stored + duplicates_ignored + events_rejected
    dead_letters == messages_dead_lettered + events_rejected - rejections_folded
                    + (rows with reason "truncated")
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from central_api.domain.fleet.devices import DeviceSignals
from central_api.domain.tokens.check import TokenCheck, Verified
from central_api.store.dead_letters import dead_letter_row, raw_text
from central_api.store.events import EventKey, EventRow
from edge_sync.protocol import BatchCheck, DeadLetterReason, Rejection, ValidEvent, seq_ranges
from edge_sync.protocol.topics import UpTopic

#: dead-letter rows one message may add; its further rejections share one more row
MAX_DEAD_LETTERS_PER_MESSAGE = 50
#: a rejection's detail in the ack is cut to this many characters (the dead letter has
#: up to 4 KiB); past the cap the ack carries seq and reason only, so that an ack stays
#: under about 100 KiB for the largest batch
ACK_DETAIL_LIMIT = 200
#: seq ranges kept in a ``truncated`` dead letter
_FOLDED_RANGES_KEPT = 200

MESSAGES = "messages"
MESSAGES_DEAD_LETTERED = "messages_dead_lettered"
BATCHES = "batches"
SIGNALS = "signals"
EVENTS_RECEIVED = "events_received"
EVENTS_STORED = "events_stored"
DUPLICATES_IGNORED = "duplicates_ignored"
EVENTS_REJECTED = "events_rejected"
REJECTIONS_FOLDED = "rejections_folded"
DEAD_LETTERS = "dead_letters"


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


@dataclass(slots=True)
class BatchState:
    """One events message: its checked events, and its answer as it is built."""

    topic_name: str
    topic: UpTopic
    received_at: datetime
    check: BatchCheck
    events: list[tuple[ValidEvent, EventKey]] = field(default_factory=list)
    #: for the ack
    rejected: list[Rejection] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    #: dead-letter rows written for this message's events so far
    rows: int = 0
    folded: Counter[str] = field(default_factory=Counter)
    folded_seqs: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Group:
    #: how the events' QR tokens are checked (``central_api.domain.tokens.check``)
    token_check: TokenCheck = field(default_factory=TokenCheck.legacy)
    batches: list[BatchState] = field(default_factory=list)
    rows: dict[EventKey, EventRow] = field(default_factory=dict)
    dead: list[dict[str, Any]] = field(default_factory=list)
    signals: dict[str, DeviceSignals] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    latest: datetime | None = None
    #: events whose token verified: checked against the revocations when written
    tokens: dict[EventKey, Verified] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def device(self, t: UpTopic) -> DeviceSignals:
        sig = self.signals.get(t.device_id)
        if sig is None:
            sig = self.signals[t.device_id] = DeviceSignals(t.store_id)
        sig.store_id = t.store_id
        return sig

    def absorb(self, other: Group) -> None:
        """Add another group's messages, as if they had been prepared in this one."""
        self.batches += other.batches
        for key, row in other.rows.items():
            self.rows.setdefault(key, row)
        self.dead += other.dead
        self.tokens.update(other.tokens)
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

    def dead_message(
        self,
        t: UpTopic | None,
        msg: Incoming,
        at: datetime,
        reason: DeadLetterReason,
        detail: str,
        batch_id: str | None = None,
    ) -> None:
        """The whole message is one dead letter."""
        self.count(MESSAGES_DEAD_LETTERED)
        self.dead_letter(
            t,
            received_at=at,
            topic=msg.topic,
            reason=reason,
            detail=detail,
            payload=raw_text(msg.payload),
            batch_id=batch_id,
        )

    def reject(
        self,
        b: BatchState,
        rejection: Rejection,
        payload: Callable[[], str],
        event_id: Any = None,
        in_ack: bool = True,
    ) -> None:
        """One event of ``b`` rejected: a dead letter of its own while the message is under
        the cap (``payload`` is only called then), else folded into the message's
        ``truncated`` row; in the ack when it has a seq the device can match."""
        self.count(EVENTS_REJECTED)
        seq, reason = rejection.seq, rejection.reason
        own_row = b.rows < MAX_DEAD_LETTERS_PER_MESSAGE
        if seq >= 1 and in_ack:  # seq 0: nothing the device could match it by
            detail = rejection.detail[:ACK_DETAIL_LIMIT] if own_row else ""
            b.rejected.append(
                rejection
                if detail == rejection.detail
                else Rejection(seq=seq, reason=reason, detail=detail)
            )
        if own_row:
            b.rows += 1
            self.dead_letter(
                b.topic,
                received_at=b.received_at,
                topic=b.topic_name,
                reason=reason,
                detail=rejection.detail,
                payload=payload(),
                batch_id=b.check.batch_id,
                seq=seq,
                event_id=event_id,
            )
        else:
            self.count(REJECTIONS_FOLDED)
            b.folded[reason.value] += 1
            if seq >= 1:
                b.folded_seqs.append(seq)

    def close(self, b: BatchState) -> None:
        """Write ``b``'s ``truncated`` row, if it has folded rejections."""
        n = sum(b.folded.values())
        if not n:
            return
        ranges = seq_ranges(b.folded_seqs)
        reasons = ", ".join(f"{r} {k}" for r, k in sorted(b.folded.items()))
        detail = (
            f"{n} more rejected events in this message, past the cap of "
            f"{MAX_DEAD_LETTERS_PER_MESSAGE} dead letters per message: {reasons}"
        )
        summary = {
            "rejected": n,
            "by_reason": dict(sorted(b.folded.items())),
            "seqs": ranges[:_FOLDED_RANGES_KEPT],
            "seq_ranges_left_out": max(0, len(ranges) - _FOLDED_RANGES_KEPT),
        }
        self.dead_letter(
            b.topic,
            received_at=b.received_at,
            topic=b.topic_name,
            reason=DeadLetterReason.TRUNCATED,
            detail=detail,
            payload=json.dumps(summary),
            batch_id=b.check.batch_id,
        )
        b.folded.clear()
        b.folded_seqs.clear()
