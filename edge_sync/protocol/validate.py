"""Checking an incoming ``events`` message, one event at a time.

The result says, for every event that could be identified by its ``seq``, either
"valid" or "rejected with a typed reason", so the ack can name each one and the
device can let go of it. A payload that cannot be read at all is a whole-message
dead letter: nothing in it can be acked, and the device will resend what it meant.

Speed: the rules are those of ``check_event``, applied to one event at a time. Central
does not run them that way for the common all-valid batch: it validates every event
in one pydantic-core call and every type's data in one call per type, and sends only
what does not pass to ``check_event``, so that rejections read exactly as before.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, SchemaValidator, core_schema, to_json

from .envelope import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
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
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        out.fatal = DeadLetterReason.MALFORMED_JSON
        out.fatal_detail = str(err)
        return out
    if isinstance(doc, dict) and isinstance(doc.get("batch_id"), str):
        out.batch_id = doc["batch_id"][:64]
    if fast:
        checked = _check_events_fast(out, doc, len(payload), topic, registry)
        if checked is not None:
            return checked
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
    return _collect(out, batch.events, [check_event(raw, topic, registry) for raw in batch.events])


def _collect(
    out: BatchCheck, raws: list[Any], results: list[ValidEvent | Rejection | None]
) -> BatchCheck:
    seen: set[int] = set()
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
        if result.event.seq in seen:
            continue  # the same event twice in one batch: one copy is enough
        seen.add(result.event.seq)
        out.valid.append(result)
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


class _DataAdapters:
    """For a data model: a list validator (each data a model, or left as it came), a list
    serialiser (each model as ``model_dump`` dumps it) and, for a plain model, a list
    validator straight to those dicts."""

    __slots__ = ("dicts", "dump", "models")

    def __init__(self, model: type[BaseModel]) -> None:
        each = Annotated[model | Any, Field(union_mode="left_to_right")]
        self.models = TypeAdapter(list[each])  # type: ignore[valid-type]
        self.dump = TypeAdapter(list[model])  # type: ignore[valid-type]
        self.dicts = _dicts_validator(model)


_data_adapters: dict[type[BaseModel], _DataAdapters | None] = {}


def _adapters_for(model: type[BaseModel]) -> _DataAdapters | None:
    """None for a model that overrides ``model_validate`` or ``model_dump``: adapters would
    not call the override, so such a type's events take the exact path."""
    try:
        return _data_adapters[model]
    except KeyError:
        pass
    plain = (
        model.model_validate.__func__ is BaseModel.model_validate.__func__  # type: ignore[attr-defined]
        and model.model_dump is BaseModel.model_dump
    )
    adapters = _data_adapters[model] = _DataAdapters(model) if plain else None
    return adapters


#: field types whose python-mode serialiser hands back the validated value as it is
_AS_IS = frozenset({"str", "int", "float", "bool", "literal"})
_MODEL_KEYS = frozenset(
    {"type", "cls", "config", "custom_init", "metadata", "ref", "root_model", "schema"}
)
_MODEL_FIELDS_KEYS = frozenset({"type", "fields", "model_name", "computed_fields"})


def _dicts_validator(model: type[BaseModel]) -> SchemaValidator | None:
    """A list validator giving, for each data, the dict ``model_dump`` would give: the
    model's own field schemas in a typed dict, so no model is made and none dumped.

    Only for a model with nothing between validation and that dict: fields of scalar
    types (or None, or with a default), no validators, serialisers, aliases, computed or
    extra fields. For anything else None: the models are made and dumped.
    """
    schema: Any = model.__pydantic_core_schema__
    fields_schema = schema.get("schema", {})
    config = schema.get("config", {})
    if (
        schema.get("type") != "model"
        or set(schema) - _MODEL_KEYS  # anything new in pydantic: not known to be plain
        or schema.get("root_model")
        or schema.get("custom_init")
        or schema.get("post_init")
        or fields_schema.get("type") != "model-fields"
        or set(fields_schema) - _MODEL_FIELDS_KEYS
        or fields_schema.get("computed_fields")
        or config.get("extra_fields_behavior") != "forbid"
    ):
        return None
    fields = {}
    for name, spec in fields_schema["fields"].items():
        if set(spec) - {"type", "schema", "metadata"} or not _as_is(spec["schema"]):
            return None
        required = spec["schema"]["type"] != "default"  # else missing → its default
        fields[name] = core_schema.typed_dict_field(spec["schema"], required=required)
    typed = core_schema.typed_dict_schema(fields, extra_behavior="forbid")
    return SchemaValidator(core_schema.list_schema(typed), config)  # type: ignore[arg-type]


def _as_is(schema: Any) -> bool:
    if "serialization" in schema or "ref" in schema:
        return False
    if schema["type"] == "default":
        plain = "default" in schema and schema.get("on_error", "raise") == "raise"
        return plain and _as_is(schema["schema"])
    if schema["type"] == "nullable":
        return _as_is(schema["schema"])
    return schema["type"] in _AS_IS


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
        if set(map(type, models)) != {model}:
            # invalid data stays as it came; so would anything a validator made of it
            idx = [i for i, m in zip(idx, models, strict=True) if type(m) is model]
            models = [m for m in models if type(m) is model]
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
