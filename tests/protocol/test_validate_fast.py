"""check_batch's fast path says exactly what the event-by-event path says, for any input.

The reference is ``_check_batch_slow`` (every event through ``check_event``). Batches
are generated from valid events of every registered type, some of them broken in one
or two ways (wrong types, missing and extra keys, bad ids and times, unknown types,
another device, oversize, bad data), with seqs from a small range so that duplicates
are common; results are compared by ``repr``, so that ``1``, ``1.0`` and ``True`` or a
different key order count as different.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)

from edge_sync.protocol import REGISTRY, DeadLetterReason, Event, Rejection, topics, validate
from edge_sync.protocol.envelope import MAX_EVENT_BYTES
from edge_sync.protocol.ids import SEQ_MAX
from edge_sync.protocol.online import ONLINE_REGISTRY
from edge_sync.protocol.schemas import EventType, Priority, Registry, SchemaViolation, _Data
from edge_sync.protocol.topics import UpTopic, parse_up
from edge_sync.protocol.validate import BatchCheck, _check_batch_slow, check_batch

TOPIC = UpTopic("s1", "s1-k1", "events")
UUID = "0190f3a2-7b1c-7def-8a12-3456789abcde"

#: one valid ``data`` per registered type (a test below keeps this list complete)
EXAMPLES: dict[tuple[str, int], list[dict[str, Any]]] = {
    ("session.started", 1): [{"trigger": "touch"}, {"trigger": "qr_scan", "locale": "de-DE"}],
    ("session.ended", 1): [{"reason": "done", "duration_ms": 1200}],
    ("product.searched", 1): [{"query": "coffee", "results": 3, "in_stock_results": 1}],
    ("product.viewed", 1): [
        {"sku": "sku-1", "source": "search", "in_stock": True},
        {"sku": "sku-2", "source": "scan", "in_stock": False, "stock_qty": 0},
    ],
    ("qr.scanned", 1): [{"valid": False, "reason": "expired"}, {"valid": True, "kind": "p"}],
    ("visit.linked", 1): [{"profile_id": "prof-1", "method": "qr"}],
    ("campaign.scanned", 1): [{"campaign_id": "c1"}, {"campaign_id": "c1", "offer_shown": False}],
    ("pickup.confirmed", 1): [{"order_id": "o-1", "staff_id": "st-1", "items": 2, "method": "qr"}],
    ("pickup.refused", 1): [
        {"order_id": "o-1", "staff_id": "st-1", "reason": "other", "note": "wet box"}
    ],
    ("consent.recorded", 1): [
        {"purpose": "profiling", "granted": True, "method": "kiosk_prompt", "text_version": "v1"}
    ],
    ("survey.answered", 1): [
        {"context": "pickup", "rating": 2, "reason": "waited_long", "order_id": "o-1"},
        {"survey": "kiosk_feedback", "context": "visit", "rating": 5, "scale": 5},
    ],
    ("qr.scanned", 2): [
        {"valid": False, "reason": "not_for_this_store"},
        {"valid": True, "kid": 3},
    ],
    ("visit.linked", 2): [
        {"token": "CAAQACEQ" * 4, "profile_id": "p-1", "token_kind": "p", "token_hash": "ab" * 16}
    ],
    ("campaign.scanned", 2): [
        {
            "token": "CEAQACEQ" * 4,
            "campaign_id": "c1",
            "token_hash": "cd" * 16,
            "offer_shown": False,
        }
    ],
}


def event(seq: int, type_: str = "pickup.confirmed", data: dict | None = None, **over) -> dict:
    ev = {
        "id": UUID,
        "seq": seq,
        "type": type_,
        "v": 1,
        "store_id": "s1",
        "device_id": "s1-k1",
        "occurred_at": "2026-11-23T10:15:02.118Z",
        "mono_ns": 1,
        "boot_id": "boot",
        "clock_synced": True,
        "session_id": "sess-1",
        "data": copy.deepcopy(EXAMPLES.get((type_, 1), [{}])[0]) if data is None else data,
    }
    ev.update(over)
    return ev


def batch(*events: Any, **over: Any) -> bytes:
    doc = {"batch_id": "b1", "device_id": "s1-k1", "store_id": "s1", "events": list(events)}
    doc.update(over)
    return json.dumps(doc).encode()


def summary(r: BatchCheck) -> str:
    return repr(
        (
            r.batch_id,
            r.fatal,
            r.fatal_detail,
            [(x.rejection.seq, x.rejection.reason, x.rejection.detail, x.raw) for x in r.rejected],
            [(x.rejection.seq, x.rejection.detail, x.raw) for x in r.conflicts],
            r.duplicates,
            [(type(v.event), v.event.model_dump(), v.data) for v in r.valid],
        )
    )


def assert_same(
    payload: bytes, topic: UpTopic = TOPIC, registry: Registry = REGISTRY
) -> BatchCheck:
    fast = check_batch(payload, topic, registry)
    assert summary(fast) == summary(_check_batch_slow(payload, topic, registry))
    return fast


@pytest.fixture
def exact_path_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every event that reaches ``check_event`` (the exact, event-by-event path)."""
    calls: list[Any] = []
    real = validate.check_event

    def spy(raw: Any, topic: UpTopic, registry: Registry = REGISTRY) -> Any:
        calls.append(raw)
        return real(raw, topic, registry)

    monkeypatch.setattr(validate, "check_event", spy)
    return calls


# --- generated batches ------------------------------------------------------------

WEIRD = [None, "", "x", 0, -1, 1, 2.0, 1.5, "2", True, False, [], {}, "x" * 201, "\ud800", 2**70]
BAD_VALUES: dict[str, list[Any]] = {
    "id": ["not-a-uuid", UUID.upper(), UUID.replace("-", ""), UUID[:-1], 5, ""],
    "seq": ["3", 3.0, True, 0, -1, None, SEQ_MAX, SEQ_MAX + 1],
    "type": ["Bad", "no.such_type", 7, "a" * 70 + ".b", "pickup"],
    "v": [2, 0, "1", 1.0, 1.5, True, 1001],
    "store_id": ["s2", "S1", "", None],
    "device_id": ["s1-k2", "s2-k1", "bad id"],
    "occurred_at": [
        "2026-11-23T10:15:02",
        "2026-11-23T10:15:02+02:00",
        "2026-11-23",
        "yesterday",
        1790000000,
        1790000000.5,
    ],
    "mono_ns": [-1, 1.0, "5", 1.5, SEQ_MAX + 1],
    "boot_id": ["", "x" * 65, "x" * 64, 3],
    "clock_synced": ["yes", 1, 2, None, "false"],
    "session_id": [None, "", "s" * 65, 5],
    "data": [None, [], "x", {}, {"unknown": 1}],
}


@st.composite
def events(draw: st.DrawFn) -> Any:
    key = draw(st.sampled_from(sorted(EXAMPLES)))
    ev = event(
        draw(st.integers(1, 8)),
        key[0],
        data=copy.deepcopy(draw(st.sampled_from(EXAMPLES[key]))),
        id=str(draw(st.uuids())),
        v=key[1],
    )
    if draw(st.integers(0, 199)) == 137:  # (hypothesis favours the bounds)
        return draw(st.sampled_from([None, 5, "event", [ev]]))  # the whole message is invalid
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 2]))):
        kind = draw(
            st.sampled_from(["set", "set", "drop", "extra", "data", "drop_data", "big", "odd"])
        )
        if kind == "set":
            field = draw(st.sampled_from(sorted(BAD_VALUES)))
            ev[field] = draw(st.sampled_from(BAD_VALUES[field]))
        elif kind == "drop":
            ev.pop(draw(st.sampled_from(sorted(ev))))
        elif kind == "extra":
            ev[draw(st.sampled_from(["extra", "Seq", "received_at"]))] = draw(
                st.sampled_from(WEIRD)
            )
        elif kind == "data" and isinstance(ev.get("data"), dict):
            name = draw(st.sampled_from([*sorted(ev["data"]), "surprise", "locale", "note"]))
            ev["data"][name] = draw(st.sampled_from(WEIRD) | st.text(max_size=5))
        elif kind == "drop_data" and isinstance(ev.get("data"), dict) and ev["data"]:
            ev["data"].pop(draw(st.sampled_from(sorted(ev["data"]))))
        elif kind == "big":
            where = ev["data"] if isinstance(ev.get("data"), dict) else ev
            where["pad"] = "p" * draw(st.sampled_from([MAX_EVENT_BYTES - 400, MAX_EVENT_BYTES]))
        elif kind == "odd":
            return draw(st.sampled_from([{}, {"seq": 2}, {"seq": True}, {"seq": 3, "data": {}}]))
    return ev


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    evs = draw(st.lists(events(), max_size=20))
    over: dict[str, Any] = {}
    if draw(st.integers(0, 19)) == 13:
        field = draw(st.sampled_from(["batch_id", "device_id", "store_id", "extra"]))
        over[field] = draw(st.sampled_from(["s1-k2", "s2", "", 5, None, "b" * 65]))
    return batch(*evs, **over)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads())
def test_generated_batches_match_the_exact_path(payload: bytes) -> None:
    assert_same(payload)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), max_size=12), st.sampled_from(["s1-k1", "s1-k2", "s2-k1"]))
def test_generated_batches_on_other_topics_match(evs: list[Any], device: str) -> None:
    topic = UpTopic(device[:2], device, "events")
    assert_same(batch(*evs, device_id=device, store_id=device[:2]), topic)


def test_examples_cover_every_registered_type() -> None:
    assert set(EXAMPLES) == {(t.name, t.version) for t in REGISTRY}
    for (name, version), datas in EXAMPLES.items():
        for data in datas:
            REGISTRY.validate_data(name, version, data)


# --- the fast path itself ---------------------------------------------------------


def test_valid_batch_never_reaches_the_exact_path(exact_path_calls: list[Any]) -> None:
    evs = [
        event(i + 1, name, data=copy.deepcopy(datas[-1]), v=v)
        for i, ((name, v), datas) in enumerate(sorted(EXAMPLES.items()))
    ]
    r = check_batch(batch(*evs), TOPIC)
    assert exact_path_calls == []
    assert_same(batch(*evs))
    assert [v.event.seq for v in r.valid] == list(range(1, len(evs) + 1))
    assert all(type(v.event) is Event for v in r.valid)
    # defaults filled in, as validate_data does
    started = next(v for v in r.valid if v.event.type == "session.started")
    assert started.data == {"trigger": "qr_scan", "locale": "de-DE"}
    ended = next(v for v in r.valid if v.event.type == "session.ended")
    assert ended.data == {"reason": "done", "duration_ms": 1200, "screens": 0}
    assert ended.event.data == {"reason": "done", "duration_ms": 1200}  # the raw data


def test_only_the_bad_events_take_the_exact_path(exact_path_calls: list[Any]) -> None:
    bad_data = event(2, data={"order_id": "o-1", "staff_id": "st-1", "items": 0, "method": "qr"})
    payload = batch(
        event(1),
        bad_data,
        event(3, type_="no.such_type"),
        event(4, occurred_at="2026-11-23T10:15:02"),
        event(5, device_id="s1-k2"),
        event(6),
    )
    r = check_batch(payload, TOPIC)
    assert [c["seq"] for c in exact_path_calls] == [2, 3, 4, 5]
    assert [v.event.seq for v in r.valid] == [1, 6]
    assert [x.rejection.reason for x in r.rejected] == [
        DeadLetterReason.SCHEMA_VIOLATION,
        DeadLetterReason.UNKNOWN_TYPE,
        DeadLetterReason.SCHEMA_VIOLATION,
        DeadLetterReason.DEVICE_TOPIC_MISMATCH,
    ]
    assert_same(payload)


def test_lenient_values_are_normalised_the_same() -> None:
    # pydantic's lax mode: these are valid, and the event keeps what was sent in data
    # (not occurred_at: a number is not a date, see test_a_number_is_not_a_time)
    lax = event(
        1,
        v=1.0,
        mono_ns="7",
        clock_synced="yes",
        data={"order_id": "o-1", "staff_id": "st-1", "items": "2", "method": "qr"},
    )
    r = assert_same(batch(lax))
    assert r.valid[0].data["items"] == 2 and r.valid[0].event.data["items"] == "2"


def test_duplicate_seqs_keep_the_first_valid_copy() -> None:
    first = event(1, id=UUID)
    other = event(1, id="0190f3a2-7b1c-7def-8a12-000000000000")
    r = assert_same(batch({**event(1), "seq": "1"}, first, other, event(2), event(2)))
    assert [v.event.id for v in r.valid] == [UUID, UUID]
    # the same seq under another id is a conflict; the same event again a duplicate
    assert [(x.rejection.seq, x.rejection.reason) for x in r.conflicts] == [
        (1, DeadLetterReason.SEQ_CONFLICT)
    ]
    assert other["id"] in r.conflicts[0].rejection.detail
    assert len(r.rejected) == 1 and r.duplicates == 1
    r = assert_same(batch(event(1, surprise=0), first))  # an invalid copy first
    assert [v.event.id for v in r.valid] == [UUID] and len(r.rejected) == 1


def test_an_event_that_grows_in_to_json_is_oversize() -> None:
    # "1e15" is 4 bytes on the wire and 18 in to_json: the payload is under the event limit,
    # the event is not, and must be measured the way check_event measures it
    pads = ",".join(["1e15"] * 3000)
    raw = json.dumps(event(1)).replace('"data":', f'"pad":[{pads}],"data":')
    payload = batch().replace(b'"events": []', b'"events": [' + raw.encode() + b"]")
    assert len(payload) <= MAX_EVENT_BYTES
    r = assert_same(payload)
    assert r.rejected[0].rejection.reason is DeadLetterReason.OVERSIZE
    big = event(2, data={**EXAMPLES[("pickup.confirmed", 1)][0], "note": "n" * MAX_EVENT_BYTES})
    r = assert_same(batch(event(1), big))
    assert [x.rejection.reason for x in r.rejected] == [DeadLetterReason.OVERSIZE]


def test_unserialisable_event_is_rejected_the_same() -> None:
    r = assert_same(batch(event(1, boot_id="\ud800"), event(2)))
    assert r.rejected[0].rejection.reason is DeadLetterReason.BAD_UNICODE
    assert [v.event.seq for v in r.valid] == [2]
    assert_same(batch(event(1, data={**EXAMPLES[("pickup.confirmed", 1)][0], "x": "\udc00"})))
    # parsed by json.loads (which keeps lone surrogates), as the HTTP API does
    rejection = validate.check_event(event(1, boot_id="\ud800"), TOPIC)
    assert isinstance(rejection, Rejection) and rejection.reason is DeadLetterReason.BAD_UNICODE


@pytest.mark.parametrize(
    "payload",
    [
        batch(event(1), 5),
        batch(event(1), [event(2)]),
        batch(*[event(i + 1) for i in range(1001)]),
        batch(event(1), extra=True),
        batch(event(1), device_id="s1-k2"),
        batch(event(1), batch_id=""),
        batch(),
        b'{"batch_id": "b1", "device_id": "s1-k1", "store_id": "s1", "events": [NaN]}',
        b"[1, 2]",
        b"{nope",
    ],
    ids=[
        "non-dict event",
        "list event",
        "too many events",
        "extra batch key",
        "batch from another device",
        "empty batch id",
        "no events",
        "nan event",
        "not an object",
        "malformed",
    ],
)
def test_whole_message_cases_match(payload: bytes) -> None:
    assert_same(payload)


def test_real_topics_and_a_big_batch_match() -> None:
    topic = parse_up(topics.events("s1", "s1-k1"))
    assert topic is not None
    evs = [
        event(i + 1, name, data=copy.deepcopy(datas[i % len(datas)]), mono_ns=i, v=v)
        for i, ((name, v), datas) in enumerate(sorted(EXAMPLES.items()) * 50)
    ]
    r = assert_same(batch(*evs), topic)
    assert len(r.valid) == len(evs)


# --- other registries ---------------------------------------------------------------


class Fancy(_Data):
    n: int = 0
    tags: list[str] = Field(default_factory=list)
    at: AwareDatetime | None = None

    @field_serializer("n")
    def _n(self, value: int) -> int:
        return value * 10


class Overridden(BaseModel):
    x: int

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return {"overridden": self.x}


class Checked(_Data):
    lo: int
    hi: int

    @model_validator(mode="after")
    def _order(self) -> Checked:
        if self.lo > self.hi:
            raise ValueError("lo above hi")
        return self


OTHER = Registry(
    [
        EventType("fancy.thing", 1, Fancy, Priority.ANALYTICS),
        EventType("fancy.thing", 2, Overridden, Priority.ANALYTICS),
        EventType("checked.range", 1, Checked, Priority.CRITICAL),
    ]
)


def test_another_registry_with_serialisers_defaults_and_validators() -> None:
    payload = batch(
        event(1, "fancy.thing", data={"n": 2, "at": "2026-11-23T10:15Z"}),
        event(2, "fancy.thing", data={}),
        event(3, "fancy.thing", v=2, data={"x": "4"}),
        event(4, "checked.range", data={"lo": 1, "hi": 2}),
        event(5, "checked.range", data={"lo": 3, "hi": 2}),
        event(6, "fancy.thing", data={"at": "2026-11-23T10:15"}),
        event(7),  # a kiosk type, unknown here
    )
    r = assert_same(payload, registry=OTHER)
    data = {v.event.seq: v.data for v in r.valid}
    assert data[1] == {"n": 20, "tags": [], "at": datetime.fromisoformat("2026-11-23T10:15Z")}
    assert data[2] == {"n": 0, "tags": [], "at": None}
    assert data[3] == {"overridden": 4}
    assert [x.rejection.seq for x in r.rejected] == [5, 6, 7]


def test_online_registry_matches() -> None:
    payload = batch(
        event(1, "email.opened", data={"campaign_id": "c", "message_id": "m"}),
        event(2, "order.placed", data={"order_id": "o", "value": 12.5, "items": 1}),
        event(3, "order.placed", data={"order_id": "o", "value": -1, "items": 1}),
    )
    r = assert_same(payload, registry=ONLINE_REGISTRY)
    assert [v.event.seq for v in r.valid] == [1, 2]


ONLINE_EXAMPLES: dict[tuple[str, int], dict[str, Any]] = {
    ("email.opened", 1): {"campaign_id": "c1", "message_id": "m1"},
    ("email.clicked", 1): {"campaign_id": "c1", "message_id": "m1", "url": "https://x"},
    ("web.visited", 1): {"url": "https://x"},
    ("cart.updated", 1): {"cart_id": "k1", "items": 2, "value": 12.5},
    ("checkout.started", 1): {"cart_id": "k1", "value": 12},
    ("order.placed", 1): {"order_id": "o1", "value": 3.0, "items": 1},
    ("review.posted", 1): {"rating": 5},
    ("qr.opened", 1): {
        "campaign_id": "c1",
        "token_kind": "r",
        "token_hash": "ab" * 16,
        "recipient_id": "p-1",
    },
    ("consent.recorded", 1): EXAMPLES[("consent.recorded", 1)][0],
}


def _dumped(fn: Any, data: dict[str, Any]) -> str:
    try:
        return repr(fn(data))
    except (ValidationError, SchemaViolation):
        return "invalid"


@pytest.mark.parametrize(
    ("registry", "event_type"),
    [
        pytest.param(r, t, id=f"{t.name}.v{t.version}")
        for r in (REGISTRY, ONLINE_REGISTRY)
        for t in r
    ],
)
def test_data_straight_to_dicts_is_model_dump(registry: Registry, event_type: EventType) -> None:
    """The dicts validator skips the models; what it gives must be what they would dump."""
    adapters = validate._adapters_for(event_type.model)
    assert adapters is not None and adapters.dicts is not None  # plain models, all of them
    dicts = adapters.dicts

    def exact(data: dict[str, Any]) -> Any:
        return registry.validate_data(event_type.name, event_type.version, data)

    key = (event_type.name, event_type.version)
    samples = EXAMPLES.get(key, []) if registry is REGISTRY else [ONLINE_EXAMPLES[key]]
    values = [*WEIRD, 12, 12.5, "12.5", " 7 ", "1e3", -0.0, float("inf"), "qr", "https://x"]
    for sample in samples:
        assert _dumped(exact, sample) == _dumped(lambda d: dicts.validate_python([d])[0], sample)
        for name in [*event_type.model.model_fields, "surprise"]:
            variants = [{k: v for k, v in sample.items() if k != name}]
            variants += [{**sample, name: value} for value in values]
            for data in variants:
                want = _dumped(exact, data)
                assert _dumped(lambda d: dicts.validate_python([d])[0], data) == want, data
