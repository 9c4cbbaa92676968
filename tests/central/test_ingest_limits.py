"""Every limit of the ingest path, through ``Ingestor.process`` on SQLite and PostgreSQL:
nesting depth, integer ranges, Unicode, NUL, seq conflicts inside a batch, and the cap
on dead letters per message. Each case also checks that every message and every event
is accounted for in the counters."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select

from central_api.domain.fleet.counters import read_ingest_counters
from central_api.ingest import MAX_DEAD_LETTERS_PER_MESSAGE, Incoming, Ingestor
from central_api.store.tables import events
from edge_sync.protocol import MAX_BATCH_EVENTS, topics

from .helpers import (
    DEVICE,
    STORE,
    acks,
    at,
    batch_msg,
    count,
    dead,
    event,
    only_ack,
    stored_seqs,
)
from .test_ingest import assert_accounted

TOPIC = topics.events(STORE, DEVICE)


def raw_batch(*parts: bytes, batch_id: bytes = b'"b1"') -> Incoming:
    """A batch written by hand, for what ``json.dumps`` cannot write (or read back)."""
    payload = b'{"batch_id": %s, "device_id": "%s", "store_id": "%s", "events": [%s]}' % (
        batch_id,
        DEVICE.encode(),
        STORE.encode(),
        b", ".join(parts),
    )
    return Incoming(TOPIC, payload, at(0))


def ev(seq: int, **over: Any) -> bytes:
    return json.dumps(event(seq, **over)).encode()


def with_data_value(seq: int, raw_value: bytes) -> bytes:
    """Event ``seq`` with ``data.query`` set to the raw JSON ``raw_value``."""
    doc = ev(seq).replace(b'"query": "blue shoes"', b'"query": ' + raw_value)
    assert doc != ev(seq) or raw_value == b'"blue shoes"'
    return doc


def counters(engine: Engine, truncated_rows: int = 0) -> dict[str, int]:
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
    assert_accounted(c, truncated_rows)
    return c


def reasons(ack) -> dict[int, str]:
    return {r.seq: r.reason.value for r in ack.rejected}


def test_one_event_nested_far_too_deep_is_rejected_alone(engine: Engine, ingestor: Ingestor):
    deep = b"[" * 50_000 + b"]" * 50_000  # Python's json raises RecursionError on this
    ack = only_ack(ingestor.process([raw_batch(ev(1), with_data_value(2, deep), ev(3))]))
    assert ack.acked == [(1, 1), (3, 3)]
    assert reasons(ack) == {2: "too_deep"}
    assert "events[1].data.query" in ack.rejected[0].detail
    assert stored_seqs(engine) == [1, 3]
    (row,) = dead(engine)
    assert (row["reason"], row["seq"], row["batch_id"]) == ("too_deep", 2, "b1")
    assert json.loads(row["payload"])["seq"] == 2  # the event, its deep part replaced
    c = counters(engine)
    assert (c["events_stored"], c["events_rejected"], c["dead_letters"]) == (2, 1, 1)


def test_nesting_over_the_event_limit_but_readable_is_too_deep(engine, ingestor):
    deep = b"[" * 40 + b"]" * 40  # read by the fast parser; over the 32 levels of an event
    shallow = b"[" * 5 + b"]" * 5  # readable and shallow: the schema says what is wrong
    ack = only_ack(
        ingestor.process([raw_batch(with_data_value(1, deep), with_data_value(2, shallow))])
    )
    assert reasons(ack) == {1: "too_deep", 2: "schema_violation"}
    counters(engine)


def test_a_batch_nested_too_deep_outside_its_events_rejects_them_all(engine, ingestor):
    msg = raw_batch(ev(1), ev(2))
    msg.payload = msg.payload[:-1] + b', "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    ack = only_ack(ingestor.process([msg]))
    assert ack.acked == [] and reasons(ack) == {1: "too_deep", 2: "too_deep"}
    counters(engine)


def test_integers_beyond_64_bits_are_rejected_per_event(engine: Engine, ingestor: Ingestor):
    evs = [
        event(1),
        event(2, mono_ns=2**63),
        event(3, v=2**70),
        dict(event(4), seq=2**63),  # no seq a device could hold: a dead letter, not acked
        dict(event(5), seq=2**64),
        dict(event(6), seq=-(2**63) - 1),
        dict(event(7), seq=-1),  # no usable seq either, but in range: a schema violation
        dict(event(8), seq=8.0),  # a float where an integer belongs
        dict(event(9), seq=True),
        event(10),
    ]
    ack = only_ack(ingestor.process([batch_msg(evs, "b1", at=at(0))]))
    assert ack.acked == [(1, 1), (10, 10)]
    assert reasons(ack) == {2: "out_of_range", 3: "out_of_range"}
    rows = {(r["seq"], r["reason"]) for r in dead(engine)}
    assert rows == {
        (2, "out_of_range"),
        (3, "out_of_range"),
        (None, "out_of_range"),
        (None, "schema_violation"),
    }
    assert [r["reason"] for r in dead(engine)].count("out_of_range") == 5
    c = counters(engine)
    assert (c["events_received"], c["events_stored"], c["events_rejected"]) == (10, 2, 8)


def test_a_number_too_long_to_read_rejects_its_event(engine: Engine, ingestor: Ingestor):
    ack = only_ack(ingestor.process([raw_batch(ev(1), with_data_value(2, b"7" * 5000))]))
    assert ack.acked == [(1, 1)] and reasons(ack) == {2: "out_of_range"}
    counters(engine)


def test_lone_surrogates_anywhere_are_bad_unicode(engine: Engine, ingestor: Ingestor):
    key = ev(3).replace(b'"query"', b'"qu\\udc00ery"')
    invalid_utf8 = with_data_value(4, b'"caf\xe9"')  # Latin-1, not UTF-8
    encoded_surrogate = with_data_value(5, b'"\xed\xa0\x80"')  # CESU-8
    parts = [ev(1), with_data_value(2, b'"\\ud800"'), key, invalid_utf8, encoded_surrogate, ev(6)]
    ack = only_ack(ingestor.process([raw_batch(*parts)]))
    assert ack.acked == [(1, 1), (6, 6)]
    assert reasons(ack) == dict.fromkeys([2, 3, 4, 5], "bad_unicode")
    for row in dead(engine):
        json.loads(row["payload"])  # stored, surrogates replaced
        assert "\ufffd" in row["payload"]
    counters(engine)


def test_bad_unicode_in_the_batch_id_or_the_topic_is_kept(engine: Engine, ingestor: Ingestor):
    ack = only_ack(ingestor.process([raw_batch(ev(1), batch_id=b'"b\\ud800"')]))
    assert reasons(ack) == {1: "bad_unicode"} and ack.batch_id == "b\ufffd"
    out = ingestor.process([Incoming("omk/v1/up/s1/k\ud800/events", b"{}", at(1))])
    assert out == []
    row = dead(engine)[-1]
    assert row["reason"] == "device_topic_mismatch"
    assert row["topic"] == "omk/v1/up/s1/k\ufffd/events"
    counters(engine)


def test_nul_is_stored_where_it_can_be_and_rejected_where_it_cannot(engine, ingestor):
    evs = [
        event(1, data={"query": "a\x00b", "results": 1, "in_stock_results": 0}),
        event(2, boot_id="b\x00"),
    ]
    ack = only_ack(ingestor.process([batch_msg(evs, "nul\x00id", at=at(0))]))
    assert ack.batch_id == "nul\x00id"  # echoed as it came, for the device to match
    assert ack.acked == [(1, 1)] and reasons(ack) == {2: "schema_violation"}
    with engine.connect() as conn:
        assert conn.scalar(select(events.c.data).where(events.c.seq == 1))["query"] == "a\x00b"
    (row,) = dead(engine)
    assert row["batch_id"] == "nul\ufffdid" and "\x00" not in row["payload"]
    ingestor.process([Incoming("omk/v1/up/s1/\x00/heartbeat", b"\x00", at(1))])
    assert dead(engine)[-1]["topic"] == "omk/v1/up/s1/\ufffd/heartbeat"
    counters(engine)


def test_the_same_seq_twice_in_one_batch(engine: Engine, ingestor: Ingestor):
    one, other = event(1), event(1)  # the same seq under two ids
    again = dict(one)
    ack = only_ack(ingestor.process([batch_msg([one, again, other, event(2)], "b1")]))
    # seq 1 is answered for the first event with it (stored): the other is not named in
    # the ack, which would make the device dead-letter its event at seq 1
    assert ack.acked == [(1, 2)] and ack.rejected == []
    (row,) = dead(engine)
    assert (row["seq"], row["reason"], row["event_id"]) == (1, "seq_conflict", other["id"])
    assert one["id"] in row["detail"]
    with engine.connect() as conn:
        assert conn.scalar(select(events.c.id).where(events.c.seq == 1)) == one["id"]
    c = counters(engine)
    assert (c["events_stored"], c["duplicates_ignored"], c["events_rejected"]) == (2, 1, 1)


def test_many_tiny_bad_events_make_a_bounded_number_of_rows(engine, ingestor):
    bad = [{"seq": s, "x": 1} for s in range(1, MAX_BATCH_EVENTS + 1)]
    (out,) = ingestor.process([batch_msg(bad, "tiny")])
    assert len(out.payload) < 100_000  # every seq answered, details left out past the cap
    ack = only_ack([out])
    assert sorted(reasons(ack)) == list(range(1, MAX_BATCH_EVENTS + 1))
    assert all(r.detail for r in ack.rejected[:MAX_DEAD_LETTERS_PER_MESSAGE])
    assert not any(r.detail for r in ack.rejected[MAX_DEAD_LETTERS_PER_MESSAGE:])
    rows = dead(engine)
    assert len(rows) == MAX_DEAD_LETTERS_PER_MESSAGE + 1
    folded = rows[-1]
    assert folded["reason"] == "truncated" and folded["batch_id"] == "tiny"
    summary = json.loads(folded["payload"])
    assert summary["rejected"] == MAX_BATCH_EVENTS - MAX_DEAD_LETTERS_PER_MESSAGE
    assert summary["by_reason"] == {"schema_violation": summary["rejected"]}
    assert summary["seqs"] == [[MAX_DEAD_LETTERS_PER_MESSAGE + 1, MAX_BATCH_EVENTS]]
    assert "950 more rejected events" in folded["detail"]
    c = counters(engine, truncated_rows=1)
    assert (c["events_rejected"], c["rejections_folded"], c["dead_letters"]) == (1000, 950, 51)


def test_more_events_than_a_batch_may_hold_is_one_dead_letter(engine, ingestor):
    tiny = b", ".join([b'{"seq": %d}' % s for s in range(1, 19_001)])
    ack = only_ack(ingestor.process([raw_batch(tiny)]))
    assert (ack.acked, ack.rejected) == ([], [])  # no per-event answer
    (row,) = dead(engine)
    assert row["reason"] == "oversize" and "19000 events" in row["detail"]
    c = counters(engine)
    assert (c["messages_dead_lettered"], c["dead_letters"], c["events_received"]) == (1, 1, 0)


def test_conflicts_found_at_insert_count_against_the_cap(engine, ingestor):
    ingestor.process([batch_msg([event(s) for s in range(1, 61)], "first")])
    ack = only_ack(ingestor.process([batch_msg([event(s) for s in range(1, 61)], "reused")]))
    assert reasons(ack) == dict.fromkeys(range(1, 61), "seq_conflict")
    rows = [r for r in dead(engine) if r["batch_id"] == "reused"]
    assert len(rows) == MAX_DEAD_LETTERS_PER_MESSAGE + 1
    assert rows[-1]["reason"] == "truncated"
    assert json.loads(rows[-1]["payload"])["by_reason"] == {"seq_conflict": 10}
    counters(engine, truncated_rows=1)


def test_a_command_result_is_unexpected(engine: Engine, ingestor: Ingestor):
    msg = Incoming(topics.up(STORE, DEVICE, "cmd_result"), b'{"id": "c1", "ok": true}', at(0))
    assert ingestor.process([msg]) == []
    (row,) = dead(engine)
    assert (row["reason"], row["device_id"]) == ("unexpected", DEVICE)
    counters(engine)


def test_a_message_central_failed_on_is_kept(engine: Engine, ingestor: Ingestor):
    msg = Incoming(TOPIC, b'{"batch_id": "b9"}', at(0))
    ingestor.dead_letter_failed(msg, RuntimeError("a bug"))
    (row,) = dead(engine)
    assert row["reason"] == "ingest_error" and "RuntimeError: a bug" in row["detail"]
    assert (row["device_id"], row["payload"]) == (DEVICE, '{"batch_id": "b9"}')
    c = counters(engine)
    assert (c["messages"], c["messages_dead_lettered"], c["dead_letters"]) == (1, 1, 1)
    assert count(engine, events) == 0


def test_every_message_of_a_mixed_group_is_accounted_for(engine, ingestor):
    evs = [event(1), event(2)]
    messages = [
        batch_msg(evs, "g"),
        batch_msg(evs, "g-again"),
        raw_batch(ev(3), with_data_value(4, b"[" * 300 + b"]" * 300)),
        Incoming(TOPIC, b"\xff\xfe garbage", at(0)),
        Incoming("omk/v1/up/s1/events", b"{}", at(0)),
        Incoming(topics.heartbeat(STORE, DEVICE), b'{"at": "2026-11-23T10:00:00Z"}', at(0)),
        Incoming(topics.status(STORE, DEVICE), b"", at(0)),
        Incoming(topics.up(STORE, DEVICE, "cmd_result"), b"{}", at(0)),
        batch_msg([event(7), {"no": "seq"}], "hdr", surprise=1),  # envelope wrong
    ]
    out = ingestor.process(messages)
    c = counters(engine)
    assert c["messages"] == len(messages)
    assert (c["batches"], c["signals"], c["messages_dead_lettered"]) == (4, 2, 3)
    assert (c["events_received"], c["events_stored"], c["duplicates_ignored"]) == (8, 3, 2)
    hdr = next(a for _, a in acks(out) if a.batch_id == "hdr")
    assert reasons(hdr) == {7: "invalid_batch"}  # the event without a seq: a dead letter only
    assert [r["reason"] for r in dead(engine) if r["batch_id"] == "hdr"] == ["invalid_batch"] * 2
