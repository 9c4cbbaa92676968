"""Checking an incoming ``events`` message, one event at a time.

The result says, for every event that could be identified by its ``seq``, either
"valid" or "rejected with a typed reason", so the ack can name each one and the
device can let go of it. A payload that cannot be read at all is a whole-message
dead letter: nothing in it can be acked, and the device will resend what it meant.

Limits come before the work they protect: the message's size, then a parse bounded in
depth (``wirejson``), then the number of events, then each event's nesting, integer
ranges and Unicode. A flaw the parser notes inside one event (nested too deep, a lone
surrogate, a number too long to read) rejects that event alone.

Speed: the rules are those of ``check_event``, applied to one event at a time. Central
does not run them that way for the common all-valid batch: it validates every event
in one pydantic-core call and every type's data in one call per type, and sends only
what does not pass to ``check_event``, so that rejections read exactly as before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from . import wirejson
from .data_adapters import adapters_for as _adapters_for
from .envelope import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    MAX_EVENT_DEPTH,
    Batch,
    DeadLetterReason,
    Event,
    Rejection,
)
from .ids import SEQ_MAX
from .schemas import (
    REGISTRY,
    Registry,
    SchemaViolation,
    UnknownEventType,
    describe_validation_error,
)
from .topics import UpTopic

#: a batch nests its events two levels down (batch object, events list)
MAX_BATCH_DEPTH = 2 + MAX_EVENT_DEPTH
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


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
    #: copies of an event (same seq, same id) after the first in this batch
    duplicates: int = 0
    #: events with the seq of an earlier valid event in this batch but another id: not
    #: answered by seq (that seq is answered for the first one), only dead-lettered
    conflicts: list[RejectedEvent] = field(default_factory=list)
    #: the whole message is unusable (no event in it can be identified)
    fatal: DeadLetterReason | None = None
    fatal_detail: str = ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seq_of(raw: Any) -> int | None:
    if isinstance(raw, dict):
        seq = raw.get("seq")
        if _is_int(seq) and 1 <= seq <= SEQ_MAX:
            return seq
    return None


def _out_of_range(raw: Any) -> str | None:
    """The first envelope integer that no 64-bit column could hold, described."""
    if not isinstance(raw, dict):
        return None
    for name in ("seq", "mono_ns", "v"):
        value = raw.get(name)
        if _is_int(value) and not _INT64_MIN <= value <= _INT64_MAX:
            return f"{name}: {value} does not fit in 64 bits"
    return None


def check_event(
    raw: Any, topic: UpTopic, registry: Registry = REGISTRY
) -> ValidEvent | Rejection | None:
    """One event → ValidEvent, or a Rejection; None if it has no usable seq. A Rejection
    with seq 0 is an event that cannot be answered by seq (its seq is out of range)."""
    seq = _seq_of(raw)
    huge = _out_of_range(raw)
    if huge is not None:
        return Rejection(seq=seq or 0, reason=DeadLetterReason.OUT_OF_RANGE, detail=huge)
    if seq is None:
        return None
    if wirejson.depth_over(raw, MAX_EVENT_DEPTH):
        return Rejection(
            seq=seq,
            reason=DeadLetterReason.TOO_DEEP,
            detail=f"event nests deeper than {MAX_EVENT_DEPTH} levels",
        )
    try:
        size = len(to_json(raw))  # compact, like the device sends it; Rust-fast
    except PydanticSerializationError as err:
        # A lone surrogate, from a parser that lets them through (json.loads does).
        reason = (
            DeadLetterReason.BAD_UNICODE
            if "surrogates not allowed" in str(err)
            else DeadLetterReason.SCHEMA_VIOLATION
        )
        return Rejection(seq=seq, reason=reason, detail=str(err))
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
    """Answer every event that has a seq with one reason (and keep those without one as
    dead letters too); with no seq at all, the whole message is the dead letter."""
    out.fatal, out.fatal_detail = None, ""
    raws = events if isinstance(events, list) else []
    seqs = [_seq_of(raw) for raw in raws]
    if not any(seqs):
        out.fatal, out.fatal_detail = reason, detail
        return out
    out.rejected = [
        RejectedEvent(Rejection(seq=seq or 0, reason=reason, detail=detail), raw)
        for raw, seq in zip(raws, seqs, strict=True)
    ]
    return out


def check_batch(payload: bytes, topic: UpTopic, registry: Registry = REGISTRY) -> BatchCheck:
    return _check_batch(payload, topic, registry, fast=True)


def _check_batch_slow(payload: bytes, topic: UpTopic, registry: Registry = REGISTRY) -> BatchCheck:
    """Every event through ``check_event``: the reference the fast path is tested against."""
    return _check_batch(payload, topic, registry, fast=False)


def _check_batch(payload: bytes, topic: UpTopic, registry: Registry, *, fast: bool) -> BatchCheck:
    out = BatchCheck()
    if len(payload) > MAX_BATCH_BYTES:
        out.fatal = DeadLetterReason.OVERSIZE
        out.fatal_detail = f"message is {len(payload)} bytes, limit {MAX_BATCH_BYTES}"
        return out
    try:
        parsed = wirejson.loads(payload, MAX_BATCH_DEPTH)
    except wirejson.Malformed as err:
        out.fatal = DeadLetterReason.MALFORMED_JSON
        out.fatal_detail = str(err)
        return out
    doc = parsed.doc
    events = doc.get("events") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and isinstance(doc.get("batch_id"), str):
        out.batch_id = doc["batch_id"][:64]
    if isinstance(events, list) and len(events) > MAX_BATCH_EVENTS:
        # More than any device sends: not answered event by event, so that one message
        # cannot turn into tens of thousands of rejections.
        out.fatal = DeadLetterReason.OVERSIZE
        out.fatal_detail = f"message has {len(events)} events, limit {MAX_BATCH_EVENTS}"
        return out
    flawed: dict[int, wirejson.Flaw] = {}
    for flaw in parsed.flaws:
        if len(flaw.path) >= 2 and flaw.path[0] == "events" and isinstance(flaw.path[1], int):
            flawed.setdefault(flaw.path[1], flaw)
        else:  # in the batch's own fields: nothing in it can be trusted
            return _reject_all(out, events, flaw.reason, flaw.detail)
    if fast and not flawed:
        checked = _check_events_fast(out, doc, len(payload), topic, registry)
        if checked is not None:
            return checked
    try:
        batch = Batch.model_validate(doc)
    except ValidationError as err:
        out.fatal = DeadLetterReason.INVALID_BATCH
        out.fatal_detail = describe_validation_error(err)
        # Salvage: events that carry a seq can still be answered one by one.
        return _reject_all(out, events, DeadLetterReason.INVALID_BATCH, out.fatal_detail)
    if batch.device_id != topic.device_id or batch.store_id != topic.store_id:
        detail = f"batch says {batch.store_id}/{batch.device_id}, topic says {topic.store_id}/{topic.device_id}"
        return _reject_all(out, batch.events, DeadLetterReason.DEVICE_TOPIC_MISMATCH, detail)
    results = [
        _flawed(raw, flawed[i]) if i in flawed else check_event(raw, topic, registry)
        for i, raw in enumerate(batch.events)
    ]
    return _collect(out, batch.events, results)


def _flawed(raw: Any, flaw: wirejson.Flaw) -> Rejection:
    return Rejection(seq=_seq_of(raw) or 0, reason=flaw.reason, detail=flaw.detail)


def _collect(
    out: BatchCheck, raws: list[Any], results: list[ValidEvent | Rejection | None]
) -> BatchCheck:
    seen: dict[int, str] = {}
    for raw, result in zip(raws, results, strict=True):
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
        seq, event_id = result.event.seq, result.event.id
        first = seen.get(seq)
        if first is None:
            seen[seq] = event_id
            out.valid.append(result)
        elif first == event_id:
            out.duplicates += 1  # the same event twice in one batch: one copy is enough
        else:
            detail = f"seq {seq} appears twice in this batch, with ids {first} and {event_id}"
            rejection = Rejection(seq=seq, reason=DeadLetterReason.SEQ_CONFLICT, detail=detail)
            out.conflicts.append(RejectedEvent(rejection, raw))
    return out


# --- the fast path --------------------------------------------------------------------
#
# It may only ever say "valid" for an event that check_event would call valid, with the
# same Event and data; everything else goes to check_event, one event at a time.

#: an event as an ``Event`` if it is one, else exactly as it came (for check_event)
_EventOrRaw = Annotated[Event | Any, Field(union_mode="left_to_right")]


class _Events(Batch):
    """``Batch`` (same header fields, same limit) with its events tried as ``Event`` in the
    same call; one that is not stays as it came. Unlike ``Batch`` this lets non-dict
    events through: see the caller."""

    events: list[_EventOrRaw] = Field(max_length=MAX_BATCH_EVENTS)  # type: ignore[assignment]


def _check_events_fast(
    out: BatchCheck, doc: Any, payload_size: int, topic: UpTopic, registry: Registry
) -> BatchCheck | None:
    """``out`` filled as the exact path would, or None: then the whole message takes the
    exact path (a batch that is invalid or from the wrong device; a registry that differs).
    """
    if type(registry).validate_data is not Registry.validate_data:
        return None
    try:
        batch = _Events.model_validate(doc)
    except ValidationError:
        return None  # Batch fails too: the exact path says how
    if batch.device_id != topic.device_id or batch.store_id != topic.store_id:
        return None
    raws: list[Any] = doc["events"]
    tried: list[Any] = batch.events
    # every one an Event, and so a dict: nothing else from JSON validates as one
    all_events = set(map(type, tried)) == {Event}
    if not all_events and not all(type(raw) is dict for raw in raws):
        return None  # Batch rejects a message with a non-object event as a whole
    n = len(raws)
    # to_json of the whole list holds each event's to_json: a bound when it is small
    sized = payload_size <= MAX_EVENT_BYTES and _json_size(raws) <= MAX_EVENT_BYTES
    fit: range | list[int]
    if all_events and _all_fit(raws, tried, topic, sized):
        fit = range(n)
    else:
        fit = [i for i in range(n) if _fits(raws[i], tried[i], topic, sized)]
    by_type: defaultdict[tuple[str, int], list[int]] = defaultdict(list)
    for i, key in zip(fit, map(_TYPE_KEY, map(tried.__getitem__, fit)), strict=True):
        by_type[key].append(i)
    normalised: dict[int, dict[str, Any]] = {}
    for (name, version), idx in by_type.items():
        try:
            model = registry.get(name, version).model
        except UnknownEventType:
            continue
        if (adapters := _adapters_for(model)) is None:
            continue
        data = [tried[i].data for i in idx]
        if adapters.dicts is not None:
            try:
                normalised.update(zip(idx, adapters.dicts.validate_python(data), strict=True))
                continue
            except ValidationError:
                pass  # which ones: the models say
        models = adapters.models.validate_python(data)
        # invalid data stays as it came; so would anything a validator made of it. (Data
        # through the dicts validator is flat; a model's fields may nest, so: the depth.)
        ok = [
            type(m) is model and not wirejson.depth_over(d, MAX_EVENT_DEPTH - 1)
            for m, d in zip(models, data, strict=True)
        ]
        if not all(ok):
            idx = [i for i, good in zip(idx, ok, strict=True) if good]
            models = [m for m, good in zip(models, ok, strict=True) if good]
        normalised.update(zip(idx, adapters.dump.dump_python(models), strict=True))
    if len(normalised) == n and len(set(map(_SEQ, tried))) == n:
        # all valid, no seq twice: what _collect would make of it, without the walk
        out.valid = list(map(ValidEvent, tried, map(normalised.__getitem__, range(n))))
        return out
    results = [
        ValidEvent(tried[i], normalised[i])
        if i in normalised
        else check_event(raws[i], topic, registry)
        for i in range(n)
    ]
    return _collect(out, raws, results)


_TYPE_KEY = attrgetter("type", "v")
_SEQ = attrgetter("seq")
_RAW_SEQ = itemgetter("seq")
_PLACE = attrgetter("store_id", "device_id")


def _fits(raw: dict[str, Any], ev: Any, topic: UpTopic, sized: bool) -> bool:
    """Whether check_event gets past seq, size, envelope and topic with this event."""
    return (
        type(ev) is Event
        and type(raw["seq"]) is int  # as _seq_of: validated, so >= 1; not a bool
        and ev.device_id == topic.device_id
        and ev.store_id == topic.store_id
        and (sized or _json_size(raw) <= MAX_EVENT_BYTES)
    )


def _all_fit(raws: list[dict[str, Any]], events: list[Event], topic: UpTopic, sized: bool) -> bool:
    """``_fits`` for every one of ``events`` (all ``Event``), a column at a time."""
    if set(map(type, map(_RAW_SEQ, raws))) != {int}:
        return False
    if set(map(_PLACE, events)) != {(topic.store_id, topic.device_id)}:
        return False
    if sized:
        return True
    try:
        return max(map(len, map(to_json, raws))) <= MAX_EVENT_BYTES
    except PydanticSerializationError:
        return False


def _json_size(value: Any) -> int:
    """As check_event measures an event; an error counts as too big (check_event says why)."""
    try:
        return len(to_json(value))
    except PydanticSerializationError:
        return MAX_EVENT_BYTES + 1
