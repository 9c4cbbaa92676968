"""The wire contract: topics, envelope, batch checking, acks."""

from __future__ import annotations

import json

import pytest

from edge_sync.protocol import (
    MAX_BATCH_BYTES,
    REGISTRY,
    Ack,
    DeadLetterReason,
    Event,
    Priority,
    SchemaViolation,
    UnknownEventType,
    check_batch,
    new_event_id,
    seq_ranges,
    topics,
)
from edge_sync.protocol.topics import UpTopic, parse_up

TOPIC = UpTopic("s1", "s1-k1", "events")


def event(seq: int, type_: str = "pickup.confirmed", **over) -> dict:
    data = {"order_id": "o-1", "staff_id": "st-1", "items": 2, "method": "qr"}
    ev = {
        "id": new_event_id(),
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
        "data": data,
    }
    ev.update(over)
    return ev


def batch(*events: dict, **over) -> bytes:
    doc = {"batch_id": "b1", "device_id": "s1-k1", "store_id": "s1", "events": list(events)}
    doc.update(over)
    return json.dumps(doc).encode()


def test_topics_round_trip():
    t = topics.events("s042", "s042-k1")
    assert t == "omk/v1/up/s042/s042-k1/events"
    assert parse_up(t) == UpTopic("s042", "s042-k1", "events")
    assert parse_up("omk/v1/down/s042/s042-k1/ack") is None
    assert parse_up("omk/v1/up/s042/s042-k1/bogus") is None
    assert topics.shared(topics.central_filters()[0]) == "$share/central/omk/v1/up/+/+/events"


def test_every_registered_type_has_a_priority_and_strict_schema():
    names = {t.name for t in REGISTRY}
    assert names == {
        "session.started",
        "session.ended",
        "product.searched",
        "product.viewed",
        "qr.scanned",
        "visit.linked",
        "campaign.scanned",
        "pickup.confirmed",
        "pickup.refused",
        "consent.recorded",
        "survey.answered",
    }
    assert REGISTRY.get("pickup.confirmed", 1).priority is Priority.CRITICAL
    assert REGISTRY.get("survey.answered", 1).priority is Priority.ANALYTICS
    assert REGISTRY.get("product.searched", 1).priority is Priority.ANALYTICS
    with pytest.raises(SchemaViolation, match=r"data\.surprise: Extra inputs"):
        REGISTRY.validate_data("session.started", 1, {"trigger": "touch", "surprise": 1})
    with pytest.raises(UnknownEventType):
        REGISTRY.validate_data("pickup.confirmed", 2, {})


def test_envelope_serialises_occurred_at_in_utc_with_z():
    ev = Event.model_validate(event(1, occurred_at="2026-11-23T11:15:02.118+01:00"))
    assert ev.to_wire()["occurred_at"] == "2026-11-23T10:15:02.118Z"


def test_good_batch_all_valid():
    r = check_batch(batch(event(1), event(2), event(3)), TOPIC)
    assert r.fatal is None and r.batch_id == "b1"
    assert [v.event.seq for v in r.valid] == [1, 2, 3]
    assert r.rejected == []


@pytest.mark.parametrize(
    ("bad", "reason", "detail"),
    [
        (
            event(2, data={"order_id": "o"}),
            DeadLetterReason.SCHEMA_VIOLATION,
            "data.staff_id: Field required",
        ),
        (event(2, type="pickup.teleported"), DeadLetterReason.UNKNOWN_TYPE, "pickup.teleported"),
        (event(2, device_id="s1-k9"), DeadLetterReason.DEVICE_TOPIC_MISMATCH, "s1/s1-k9"),
        (event(2, occurred_at="yesterday"), DeadLetterReason.SCHEMA_VIOLATION, "occurred_at"),
        (event(2, data={"x": "y" * 20000}), DeadLetterReason.OVERSIZE, "limit"),
    ],
)
def test_one_bad_event_is_rejected_with_its_reason_and_the_rest_flow(bad, reason, detail):
    r = check_batch(batch(event(1), bad, event(3)), TOPIC)
    assert [v.event.seq for v in r.valid] == [1, 3]
    [rej] = r.rejected
    assert rej.rejection.seq == 2 and rej.rejection.reason is reason
    assert detail in rej.rejection.detail


def test_whole_message_failures():
    assert check_batch(b"{not json", TOPIC).fatal is DeadLetterReason.MALFORMED_JSON
    assert check_batch(b"\xff\xfe", TOPIC).fatal is DeadLetterReason.MALFORMED_JSON
    assert check_batch(b"[1,2]", TOPIC).fatal is DeadLetterReason.INVALID_BATCH
    big = b" " * (MAX_BATCH_BYTES + 1)
    assert check_batch(big, TOPIC).fatal is DeadLetterReason.OVERSIZE


def test_batch_for_another_device_rejects_each_event_by_seq():
    r = check_batch(batch(event(1), event(2), device_id="s1-k2"), TOPIC)
    assert r.valid == []
    assert {(x.rejection.seq, x.rejection.reason) for x in r.rejected} == {
        (1, DeadLetterReason.DEVICE_TOPIC_MISMATCH),
        (2, DeadLetterReason.DEVICE_TOPIC_MISMATCH),
    }


def test_invalid_batch_envelope_still_answers_each_event():
    r = check_batch(batch(event(1), event(2), unexpected=True), TOPIC)
    assert r.fatal is None
    assert sorted(x.rejection.seq for x in r.rejected) == [1, 2]
    assert {x.rejection.reason for x in r.rejected} == {DeadLetterReason.INVALID_BATCH}


def test_same_event_twice_in_one_batch_counts_once():
    e = event(1)
    r = check_batch(batch(e, e), TOPIC)
    assert [v.event.seq for v in r.valid] == [1]


def test_seq_ranges_and_ack_round_trip():
    assert seq_ranges([9, 1, 2, 3, 7, 10]) == [(1, 3), (7, 7), (9, 10)]
    assert seq_ranges([]) == []
    ack = Ack.model_validate_json(
        b'{"batch_id":"b","acked":[[1,3],[7,7]],"rejected":[{"seq":5,"reason":"unknown_type"}]}'
    )
    assert ack.seqs() == [1, 2, 3, 7, 5]
