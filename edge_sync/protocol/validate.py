"""Checking an incoming ``events`` message, one event at a time.

The result says, for every event that could be identified by its ``seq``, either
"valid" or "rejected with a typed reason", so the ack can name each one and the
device can let go of it. A payload that cannot be read at all is a whole-message
dead letter: nothing in it can be acked, and the device will resend what it meant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_json

from .envelope import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    Batch,
    DeadLetterReason,
    Event,
    Rejection,
)
from .schemas import (
    REGISTRY,
    Registry,
    SchemaViolation,
    UnknownEventType,
    describe_validation_error,
)
from .topics import UpTopic


@dataclass(slots=True)
class ValidEvent:
    event: Event
    data: dict[str, Any]  # normalised by its type's schema


@dataclass(slots=True)
class RejectedEvent:
    rejection: Rejection
    raw: Any  # what was received, kept in the dead-letter table


@dataclass(slots=True)
class BatchCheck:
    batch_id: str | None = None
    valid: list[ValidEvent] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)
    #: the whole message is unusable (no event in it can be identified)
    fatal: DeadLetterReason | None = None
    fatal_detail: str = ""


def _seq_of(raw: Any) -> int | None:
    if isinstance(raw, dict):
        seq = raw.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1:
            return seq
    return None


def check_event(
    raw: Any, topic: UpTopic, registry: Registry = REGISTRY
) -> ValidEvent | Rejection | None:
    """One event → ValidEvent, or a Rejection; None if it has no usable seq."""
    seq = _seq_of(raw)
    if seq is None:
        return None
    try:
        size = len(to_json(raw))  # compact, like the device sends it; Rust-fast
    except PydanticSerializationError as err:
        return Rejection(seq=seq, reason=DeadLetterReason.SCHEMA_VIOLATION, detail=str(err))
    if size > MAX_EVENT_BYTES:
        return Rejection(
            seq=seq,
            reason=DeadLetterReason.OVERSIZE,
            detail=f"event is {size} bytes, limit {MAX_EVENT_BYTES}",
        )
    try:
        event = Event.model_validate(raw)
    except ValidationError as err:
        return Rejection(
            seq=seq, reason=DeadLetterReason.SCHEMA_VIOLATION, detail=describe_validation_error(err)
        )
    if event.device_id != topic.device_id or event.store_id != topic.store_id:
        return Rejection(
            seq=seq,
            reason=DeadLetterReason.DEVICE_TOPIC_MISMATCH,
            detail=f"event says {event.store_id}/{event.device_id}, topic says {topic.store_id}/{topic.device_id}",
        )
    try:
        data = registry.validate_data(event.type, event.v, event.data)
    except UnknownEventType as err:
        return Rejection(seq=seq, reason=DeadLetterReason.UNKNOWN_TYPE, detail=str(err))
    except SchemaViolation as err:
        return Rejection(seq=seq, reason=DeadLetterReason.SCHEMA_VIOLATION, detail=err.detail)
    return ValidEvent(event=event, data=data)


def _reject_all(out: BatchCheck, events: Any, reason: DeadLetterReason, detail: str) -> BatchCheck:
    """Answer every event that has a seq with one reason; with none, the whole message."""
    out.fatal, out.fatal_detail = None, ""
    for raw in events if isinstance(events, list) else []:
        seq = _seq_of(raw)
        if seq is not None:
            out.rejected.append(
                RejectedEvent(Rejection(seq=seq, reason=reason, detail=detail), raw)
            )
    if not out.rejected:
        out.fatal, out.fatal_detail = reason, detail
    return out


def check_batch(payload: bytes, topic: UpTopic, registry: Registry = REGISTRY) -> BatchCheck:
    out = BatchCheck()
    if len(payload) > MAX_BATCH_BYTES:
        out.fatal = DeadLetterReason.OVERSIZE
        out.fatal_detail = f"message is {len(payload)} bytes, limit {MAX_BATCH_BYTES}"
        return out
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        out.fatal = DeadLetterReason.MALFORMED_JSON
        out.fatal_detail = str(err)
        return out
    if isinstance(doc, dict) and isinstance(doc.get("batch_id"), str):
        out.batch_id = doc["batch_id"][:64]
    try:
        batch = Batch.model_validate(doc)
    except ValidationError as err:
        out.fatal = DeadLetterReason.INVALID_BATCH
        out.fatal_detail = describe_validation_error(err)
        # Salvage: events that carry a seq can still be answered one by one.
        events = doc.get("events") if isinstance(doc, dict) else None
        return _reject_all(out, events, DeadLetterReason.INVALID_BATCH, out.fatal_detail)
    if batch.device_id != topic.device_id or batch.store_id != topic.store_id:
        detail = f"batch says {batch.store_id}/{batch.device_id}, topic says {topic.store_id}/{topic.device_id}"
        return _reject_all(out, batch.events, DeadLetterReason.DEVICE_TOPIC_MISMATCH, detail)
    seen: set[int] = set()
    for raw in batch.events:
        result = check_event(raw, topic, registry)
        if result is None:
            # No seq: nothing to ack it by. Kept as a dead letter of the whole message.
            out.rejected.append(
                RejectedEvent(
                    Rejection(
                        seq=0,
                        reason=DeadLetterReason.SCHEMA_VIOLATION,
                        detail="event has no valid seq",
                    ),
                    raw,
                )
            )
            continue
        if isinstance(result, Rejection):
            out.rejected.append(RejectedEvent(result, raw))
            continue
        if result.event.seq in seen:
            continue  # the same event twice in one batch: one copy is enough
        seen.add(result.event.seq)
        out.valid.append(result)
    return out
