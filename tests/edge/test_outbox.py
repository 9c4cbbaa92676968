"""The outbox on a real SQLite file: enqueue, fetch, ack, caps, rejections."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from edge_sync import EventRejected, Outbox, OutboxFull
from edge_sync.protocol import (
    REGISTRY,
    DeadLetterReason,
    Event,
    Rejection,
    SchemaViolation,
    UnknownEventType,
    dumps,
    seq_ranges,
)
from edge_sync.protocol.ids import format_ts

from .conftest import ANALYTICS, CRITICAL, DEVICE, SAMPLES, STORE, all_rows


def test_round_trip_enqueue_fetch_ack(outbox: Outbox) -> None:
    events = [outbox.enqueue(t, d, "sess-1") for t, d in SAMPLES.items()]
    rows = all_rows(outbox)
    assert [r.seq for r in rows] == [e.seq for e in events]
    for ev, row in zip(events, rows, strict=True):
        assert row.payload == dumps(ev)  # the stored bytes are the event's exact wire JSON
        wire = json.loads(row.payload)
        assert wire["id"] == ev.id and wire["seq"] == ev.seq and wire["type"] == ev.type
        assert [wire["store_id"], wire["device_id"], wire["session_id"]] == [
            STORE,
            DEVICE,
            "sess-1",
        ]
        assert row.priority == REGISTRY.get(ev.type, 1).priority.value
        assert Event.model_validate_json(row.payload).id == ev.id
    assert outbox.max_seq() == events[-1].seq
    result = outbox.apply_ack(seq_ranges([e.seq for e in events]), [])
    assert result.acked == len(events) and result.dead_lettered == 0
    assert all_rows(outbox) == [] and outbox.max_seq() == 0
    assert outbox.stats().depth == 0 and outbox.stats().bytes == 0


def test_envelope_fields(make_outbox) -> None:
    ob = make_outbox(clock_source="assume_unsynced")
    before = time.time()
    ev = ob.enqueue("product.viewed", {"sku": "A1", "source": "scan", "in_stock": False})
    assert ev.clock_synced is False
    assert ev.data == {"sku": "A1", "source": "scan", "in_stock": False, "stock_qty": None}
    assert ev.occurred_at.timestamp() == pytest.approx(before, abs=5)
    assert ev.mono_ns > 0 and ev.boot_id and ev.session_id is None
    assert ev.id[14] == "7"  # a UUIDv7


def test_wire_bytes_match_the_model_for_awkward_values(outbox: Outbox) -> None:
    # The payload is built from a dict for speed; it must stay byte-identical to dumps(Event).
    query = 'Grüße "quoted" \\ back\tslash ✓ 𝄞'
    ev = outbox.enqueue(
        "product.searched", {"query": query, "results": 1, "in_stock_results": 0}, "séance-ñ"
    )
    (row,) = all_rows(outbox)
    assert row.payload == dumps(ev)
    assert row.payload == dumps(Event.model_validate_json(row.payload))
    assert json.loads(row.payload)["data"]["query"] == query
    assert json.loads(row.payload)["occurred_at"] == format_ts(ev.occurred_at)


def test_timestamp_text_matches_protocol_format(outbox: Outbox) -> None:
    base = 1_795_400_495 * 10**9
    for ns in (base, base + 1, base + 999_999_999, base + 123_456_789, 0, 4_102_444_800 * 10**9):
        dt = datetime.fromtimestamp(ns // 10**9, UTC).replace(microsecond=ns % 10**9 // 1000)
        assert outbox._ts_text(ns) == format_ts(dt)


def test_seq_strictly_increasing_never_reused_after_deletes_and_reopen(make_outbox) -> None:
    ob = make_outbox()
    first = [ob.enqueue("session.started", {"trigger": "touch"}).seq for _ in range(5)]
    assert first == sorted(first) and len(set(first)) == 5
    assert first[0] >= 1_700_000_000_000_000  # the floor: UNIX time in microseconds at creation
    ob.apply_ack([(first[0], first[-1])], [])  # delete everything, including the top seq
    after_delete = ob.enqueue("session.started", {"trigger": "touch"}).seq
    assert after_delete == first[-1] + 1
    ob.close()
    ob = make_outbox()
    assert ob.enqueue("session.started", {"trigger": "touch"}).seq == after_delete + 1


def test_fetch_bounds_and_byte_limit(outbox: Outbox) -> None:
    seqs = [
        outbox.enqueue("qr.scanned", {"valid": False, "reason": "expired"}).seq for _ in range(10)
    ]
    size = len(all_rows(outbox)[0].payload)
    assert [r.seq for r in outbox.fetch(seqs[2], 3, 10**6)] == seqs[3:6]
    assert [r.seq for r in outbox.fetch(seqs[2], 100, 10**6, up_to_seq=seqs[4])] == seqs[3:5]
    # stop before max_bytes would be exceeded...
    assert [r.seq for r in outbox.fetch(0, 100, size * 3 + size // 2)] == seqs[:3]
    # ...but always return at least one row
    assert [r.seq for r in outbox.fetch(0, 100, 1)] == seqs[:1]
    assert outbox.fetch(seqs[-1], 100, 10**6) == []


def test_apply_ack_ranges_rejections_and_idempotence(outbox: Outbox) -> None:
    seqs = [outbox.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"]).seq for _ in range(10)]
    rejected = [
        Rejection(seq=seqs[3], reason=DeadLetterReason.SCHEMA_VIOLATION, detail="data.items: bad"),
        Rejection(seq=seqs[7], reason=DeadLetterReason.SEQ_CONFLICT),
    ]
    acked = [(seqs[0], seqs[2]), (seqs[5], seqs[5])]
    result = outbox.apply_ack(acked, rejected)
    assert (result.acked, result.dead_lettered) == (4, 2)
    left = [seqs[4], seqs[6], seqs[8], seqs[9]]
    assert [r.seq for r in all_rows(outbox)] == left
    conn = outbox._conn
    assert conn is not None
    dead = conn.execute("SELECT seq, type, reason, detail, payload FROM dead_letter ORDER BY seq")
    dead = dead.fetchall()
    assert [(d[0], d[1], d[2], d[3]) for d in dead] == [
        (seqs[3], "pickup.confirmed", "schema_violation", "data.items: bad"),
        (seqs[7], "pickup.confirmed", "seq_conflict", ""),
    ]
    assert json.loads(dead[0][4])["seq"] == seqs[3]  # the payload is kept
    # the same ack again (a redelivery), and acks for seqs that never existed: no effect
    again = outbox.apply_ack([*acked, (1, 5)], rejected)
    assert (again.acked, again.dead_lettered) == (0, 0)
    assert [r.seq for r in all_rows(outbox)] == left
    st = outbox.stats()
    assert (st.depth, st.dead_letters) == (4, 2)


def test_schema_violation_names_the_field_and_stores_nothing(outbox: Outbox) -> None:
    bad = {**SAMPLES["pickup.confirmed"], "items": 0}
    with pytest.raises(EventRejected) as info:
        outbox.enqueue("pickup.confirmed", bad)
    assert "data.items" in info.value.detail and "data.items" in str(info.value)
    assert isinstance(info.value.cause, SchemaViolation)
    with pytest.raises(EventRejected, match=r"data\.colour"):
        outbox.enqueue("session.started", {"trigger": "touch", "colour": "red"})
    with pytest.raises(EventRejected) as info:
        outbox.enqueue("pickup.teleported", {})
    assert isinstance(info.value.cause, UnknownEventType)
    with pytest.raises(EventRejected, match="session_id"):
        outbox.enqueue("session.started", {"trigger": "touch"}, "x" * 65)
    with pytest.raises(EventRejected, match="v: must be an integer"):
        outbox.enqueue("session.started", {"trigger": "touch"}, v=True)
    assert outbox.stats().depth == 0
    good = outbox.enqueue("session.started", {"trigger": "touch"})
    assert [r.seq for r in all_rows(outbox)] == [good.seq]


def test_oversize_event_rejected(outbox: Outbox) -> None:
    outbox.max_event_bytes = 400
    small = outbox.enqueue("session.started", {"trigger": "touch"})
    with pytest.raises(EventRejected, match=r"bytes, limit 400"):
        outbox.enqueue(
            "product.searched", {"query": "q" * 200, "results": 0, "in_stock_results": 0}
        )
    assert [r.seq for r in all_rows(outbox)] == [small.seq]
    # the seq of a rejected event is not used up
    assert outbox.enqueue("session.started", {"trigger": "touch"}).seq == small.seq + 1


def test_enqueue_many_stores_all_in_one_moment_or_nothing(make_outbox) -> None:
    ob = make_outbox(max_rows=3)
    pair = [
        ("pickup.confirmed", SAMPLES["pickup.confirmed"]),
        ("consent.recorded", SAMPLES["consent.recorded"]),
    ]
    a, b = ob.enqueue_many(pair, "sess-1")
    assert (a.stored, b.stored) == (True, True)
    assert b.event.seq == a.event.seq + 1 and a.event.occurred_at == b.event.occurred_at
    rows = all_rows(ob)
    assert [r.seq for r in rows] == [a.event.seq, b.event.seq]
    assert [json.loads(r.payload)["session_id"] for r in rows] == ["sess-1", "sess-1"]
    # a bad second event: the good first one is not stored either
    bad = {**SAMPLES["pickup.confirmed"], "items": 0}
    with pytest.raises(EventRejected, match=r"data\.items"):
        ob.enqueue_many([pair[0], ("pickup.confirmed", bad)])
    # the second of two critical events does not fit: neither is stored, no seq used up
    with pytest.raises(OutboxFull, match=r"event 'consent\.recorded' was not stored"):
        ob.enqueue_many(pair)
    assert [r.seq for r in all_rows(ob)] == [a.event.seq, b.event.seq]
    assert ob.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"]).seq == b.event.seq + 1


def test_caps_evict_analytics_oldest_first_counted_per_type(make_outbox) -> None:
    ob = make_outbox(max_rows=10)
    kinds = ["product.searched", "product.viewed", "product.searched", "session.started"]
    analytics = [ob.enqueue(k, SAMPLES[k]) for k in kinds]
    critical = [ob.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"]) for _ in range(6)]
    assert ob.stats().depth == 10
    res = ob.enqueue_result("visit.linked", SAMPLES["visit.linked"])
    assert res.stored and res.evicted == 1
    res = ob.enqueue_result("product.viewed", SAMPLES["product.viewed"])
    assert res.stored and res.evicted == 1
    st = ob.stats()
    assert st.depth == 10 and st.evicted_total == 2
    assert st.evicted_by_type == {"product.searched": 1, "product.viewed": 1}
    left = [r.seq for r in all_rows(ob)]
    assert analytics[0].seq not in left and analytics[1].seq not in left  # the oldest went first
    assert all(c.seq in left for c in critical)
    assert st.by_priority["critical"]["rows"] == 7 and st.by_priority["analytics"]["rows"] == 3


def test_byte_cap_evicts_enough_rows(make_outbox) -> None:
    ob = make_outbox(max_bytes=64 * 1024)
    while ob.stats().bytes + 600 < 64 * 1024:
        ob.enqueue("product.searched", SAMPLES["product.searched"])
    before = ob.stats()
    seqs = [r.seq for r in all_rows(ob)]
    for _ in range(50):
        ob.enqueue("consent.recorded", SAMPLES["consent.recorded"])
    st = ob.stats()
    assert st.bytes <= 64 * 1024
    assert st.by_priority["critical"]["rows"] == 50
    assert st.evicted_by_type == {"product.searched": st.evicted_total}
    assert st.evicted_total == before.depth + 50 - st.depth
    left = {r.seq for r in all_rows(ob)}
    evicted = [s for s in seqs if s not in left]
    assert evicted == seqs[: len(evicted)]  # oldest first


def test_outbox_full_of_critical_raises_and_stores_nothing(make_outbox) -> None:
    ob = make_outbox(max_rows=10)
    for t in CRITICAL * 2:
        if ob.stats().depth < 10:
            ob.enqueue(t, SAMPLES[t])
    top = ob.max_seq()
    with pytest.raises(OutboxFull) as info:
        ob.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"])
    reason = info.value.reason
    assert reason.startswith("the outbox is full (10 events")
    assert "nothing can be evicted" in reason and "pickup.confirmed" in reason
    assert ob.stats().depth == 10 and ob.max_seq() == top
    # an analytics event is dropped and counted, not raised; its seq is never used again
    res = ob.enqueue_result("product.searched", SAMPLES["product.searched"])
    assert not res.stored and res.event.seq > top
    assert ob.stats().evicted_by_type == {"product.searched": 1}
    assert ob.stats().depth == 10 and ob.max_seq() == top
    dropped = ob.enqueue("session.started", SAMPLES["session.started"])  # plain enqueue too
    assert dropped.seq == res.event.seq + 1
    ob.apply_ack([(1, top)], [])  # central acks: room again
    assert ob.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"]).seq == dropped.seq + 1


def test_critical_that_cannot_fit_does_not_evict_anything(make_outbox) -> None:
    ob = make_outbox(max_rows=10)
    for _ in range(9):
        ob.enqueue("qr.scanned", SAMPLES["qr.scanned"])
    ob.enqueue("product.searched", SAMPLES["product.searched"])
    ob.max_rows = 9  # now even evicting the one analytics event leaves 9 + 1 > 9
    with pytest.raises(OutboxFull, match="evicting all 1 analytics events would not make room"):
        ob.enqueue("qr.scanned", SAMPLES["qr.scanned"])
    assert ob.stats().depth == 10 and ob.stats().evicted_total == 0


def test_enqueue_from_many_threads(outbox: Outbox) -> None:
    got: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            seq = outbox.enqueue("product.viewed", SAMPLES["product.viewed"]).seq
            with lock:
                got.append(seq)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == len(set(got)) == 200
    assert sorted(got) == [r.seq for r in all_rows(outbox)]
    assert sorted(got) == list(range(min(got), min(got) + 200))


def test_stats_and_sync_state(outbox: Outbox) -> None:
    assert outbox.stats().oldest_unsent_age_s is None
    for t in ANALYTICS + CRITICAL:
        outbox.enqueue(t, SAMPLES[t])
    st = outbox.stats()
    assert st.depth == len(SAMPLES)
    assert st.bytes == sum(len(r.payload) for r in all_rows(outbox))
    assert st.by_priority["analytics"]["rows"] == len(ANALYTICS)
    assert st.by_priority["critical"]["rows"] == len(CRITICAL)
    assert 0 <= st.oldest_unsent_age_s < 60
    assert Counter(st.evicted_by_type) == Counter() and st.dead_letters == 0
    outbox.set_state("link_state", "connected")
    outbox.set_state("cursor", {"a": [1, 2]})
    assert outbox.get_state("link_state") == "connected"
    assert outbox.get_state("cursor") == {"a": [1, 2]}
    assert outbox.get_state("missing", 7) == 7


def test_validation_matches_protocol_registry(outbox: Outbox) -> None:
    for t in SAMPLES:  # every registered type has a sample here
        assert REGISTRY.get(t, 1)
    assert {et.name for et in REGISTRY} == set(SAMPLES)
