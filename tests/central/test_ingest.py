"""The ingest core: validation → dedup → effects → ack, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from central_api.domain.fleet.counters import read_ingest_counters
from central_api.ingest import Incoming, Ingestor, is_retryable
from central_api.store import db as store_db
from central_api.store import make_engine
from central_api.store.tables import devices, events
from edge_sync.protocol import MAX_BATCH_BYTES, REGISTRY, topics

from .helpers import (
    DEVICE,
    STORE,
    acks,
    at,
    batch_msg,
    count,
    dead,
    device_row,
    event,
    events_for,
    heartbeat_msg,
    only_ack,
    status_msg,
    stored_seqs,
    type_counts,
)

_CORE = ("events_stored", "duplicates_ignored", "dead_letters", "messages")


def core(c: dict[str, int]) -> dict[str, int]:
    """The four counters the older tests state, after checking that all of them add up."""
    assert_accounted(c)
    return {k: c[k] for k in _CORE}


def assert_accounted(c: dict[str, int], truncated_rows: int = 0) -> None:
    """Every message ends in exactly one way, every event of a judged batch too."""
    assert c["messages"] == c["messages_dead_lettered"] + c["batches"] + c["signals"], c
    assert c["events_received"] == (
        c["events_stored"] + c["duplicates_ignored"] + c["events_rejected"]
    ), c
    assert c["dead_letters"] == (
        c["messages_dead_lettered"] + c["events_rejected"] - c["rejections_folded"] + truncated_rows
    ), c


def test_valid_batch_is_stored_acked_and_counted(engine: Engine, ingestor: Ingestor) -> None:
    evs = events_for(range(1, 11))
    ack = only_ack(ingestor.process([batch_msg(evs, "b1", at=at(0))]))
    assert ack.batch_id == "b1"
    assert ack.acked == [(1, 10)]
    assert ack.rejected == []
    assert stored_seqs(engine) == list(range(1, 11))
    assert type_counts(engine) == {(DEVICE, "product.searched"): 5, (DEVICE, "pickup.confirmed"): 5}
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
        row = conn.execute(select(events).where(events.c.seq == 1)).mappings().one()
        last_seen = conn.scalar(select(devices.c.last_seen_at))
    assert core(c) == {"events_stored": 10, "duplicates_ignored": 0, "dead_letters": 0,
                       "messages": 1}  # fmt: skip
    assert row["id"] == evs[0]["id"]
    assert row["occurred_at"] == datetime(2026, 11, 23, 10, 15, 2, 118000, tzinfo=UTC)
    assert row["received_at"] == at(0)
    assert row["data"] == REGISTRY.validate_data(evs[0]["type"], 1, evs[0]["data"])  # normalised
    assert (row["boot_id"], row["session_id"], row["clock_synced"]) == ("boot-1", "sess-1", True)
    assert last_seen == at(0)


def test_resent_batch_is_acked_again_but_counted_once(engine: Engine, ingestor: Ingestor) -> None:
    evs = events_for(range(1, 11))
    first = only_ack(ingestor.process([batch_msg(evs, "b1")]))
    again = only_ack(ingestor.process([batch_msg(evs, "b1-resend")]))
    assert again.batch_id == "b1-resend"
    assert again.acked == first.acked == [(1, 10)]
    assert count(engine, events) == 10
    assert sum(type_counts(engine).values()) == 10
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
    assert (c["events_stored"], c["duplicates_ignored"], c["messages"]) == (10, 10, 2)


def test_overlapping_resend_stores_only_the_new_part(engine: Engine, ingestor: Ingestor) -> None:
    evs = events_for(range(1, 21))
    ingestor.process([batch_msg(evs[:10], "b1")])
    ack = only_ack(ingestor.process([batch_msg(evs[5:], "b2")]))
    assert ack.acked == [(6, 20)]
    assert stored_seqs(engine) == list(range(1, 21))
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
    assert (c["events_stored"], c["duplicates_ignored"]) == (20, 5)


def test_partial_batch_rejects_bad_events_and_stores_the_rest(
    engine: Engine, ingestor: Ingestor
) -> None:
    evs = events_for(range(1, 7))
    evs[1]["data"]["results"] = -1  # seq 2: schema violation in data
    evs[2]["type"] = "kiosk.exploded"  # seq 3: unknown type
    evs[3]["device_id"] = "s1-k9"  # seq 4: event from another device than the topic
    del evs[4]["boot_id"]  # seq 5: envelope schema violation
    ack = only_ack(ingestor.process([batch_msg(evs, "b1")]))
    assert ack.acked == [(1, 1), (6, 6)]
    reasons = {r.seq: r.reason.value for r in ack.rejected}
    assert reasons == {
        2: "schema_violation",
        3: "unknown_type",
        4: "device_topic_mismatch",
        5: "schema_violation",
    }
    assert all(r.detail for r in ack.rejected)
    assert stored_seqs(engine) == [1, 6]
    rows = dead(engine)
    assert {r["seq"]: r["reason"] for r in rows} == reasons
    for r in rows:
        assert (r["device_id"], r["store_id"], r["batch_id"]) == (DEVICE, STORE, "b1")
        assert r["topic"] == topics.events(STORE, DEVICE)
        assert json.loads(r["payload"])["seq"] == r["seq"]
        assert r["event_id"] == evs[r["seq"] - 1]["id"]
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
    assert (c["events_stored"], c["dead_letters"]) == (2, 4)


def test_batch_from_another_device_than_its_topic_is_rejected(
    engine: Engine, ingestor: Ingestor
) -> None:
    evs = events_for(range(1, 4))
    msg = batch_msg(evs, "b1")
    msg.topic = topics.events(STORE, "s1-k2")  # a device publishing under another's topic
    ((topic, ack),) = acks(ingestor.process([msg]))
    assert topic == topics.ack(STORE, "s1-k2")
    assert ack.acked == []
    assert {r.reason.value for r in ack.rejected} == {"device_topic_mismatch"}
    assert count(engine, events) == 0
    assert [r["reason"] for r in dead(engine)] == ["device_topic_mismatch"] * 3


def test_malformed_json_is_one_dead_letter_and_no_ack(engine: Engine, ingestor: Ingestor) -> None:
    payload = b'{"batch_id": "b1", "events": [\x00\xff'
    out = ingestor.process([Incoming(topics.events(STORE, DEVICE), payload)])
    assert out == []
    (row,) = dead(engine)
    assert row["reason"] == "malformed_json"
    assert row["seq"] is None and row["batch_id"] is None
    assert row["payload"].startswith('{"batch_id": "b1"')
    assert "\x00" not in row["payload"]  # PostgreSQL text cannot hold NUL
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
    assert (c["messages"], c["dead_letters"], c["events_stored"]) == (1, 1, 0)


def test_invalid_batch_with_a_batch_id_gets_an_empty_ack(
    engine: Engine, ingestor: Ingestor
) -> None:
    payload = json.dumps({"batch_id": "b7", "device_id": DEVICE, "store_id": STORE}).encode()
    ack = only_ack(ingestor.process([Incoming(topics.events(STORE, DEVICE), payload)]))
    assert (ack.batch_id, ack.acked, ack.rejected) == ("b7", [], [])
    (row,) = dead(engine)
    assert (row["reason"], row["batch_id"]) == ("invalid_batch", "b7")


def test_oversize_message_is_dead_lettered_truncated(engine: Engine, ingestor: Ingestor) -> None:
    payload = b'{"batch_id": "big", "events": [' + b" " * MAX_BATCH_BYTES + b"]}"
    assert ingestor.process([Incoming(topics.events(STORE, DEVICE), payload)]) == []
    (row,) = dead(engine)
    assert row["reason"] == "oversize"
    assert len(row["payload"].encode()) == 64 * 1024


def test_message_on_a_foreign_topic_is_dead_lettered(engine: Engine, ingestor: Ingestor) -> None:
    out = ingestor.process(
        [Incoming("omk/v1/up/s1/events", b"{}"), Incoming("omk/v1/up/S 1/K1/events", b"{}")]
    )
    assert out == []
    rows = dead(engine)
    assert [r["topic"] for r in rows] == ["omk/v1/up/s1/events", "omk/v1/up/S 1/K1/events"]
    assert {r["reason"] for r in rows} == {"device_topic_mismatch"}
    assert all(r["device_id"] is None for r in rows)
    assert count(engine, devices) == 0


def test_seq_conflicts_are_rejected_not_acked(engine: Engine, ingestor: Ingestor) -> None:
    evs = events_for(range(1, 4))
    ingestor.process([batch_msg(evs, "b1")])
    reused_seq = event(2)  # a new id under a seq that is already stored
    moved_id = dict(evs[0], seq=9)  # a stored id under another seq
    ack = only_ack(ingestor.process([batch_msg([reused_seq, moved_id, event(4)], "b2")]))
    assert ack.acked == [(4, 4)]
    details = {r.seq: (r.reason.value, r.detail) for r in ack.rejected}
    assert details[2] == ("seq_conflict", f"seq 2 is already stored with id {evs[1]['id']}")
    assert details[9][0] == "seq_conflict" and "already stored as s1-k1 seq 1" in details[9][1]
    assert stored_seqs(engine) == [1, 2, 3, 4]
    with engine.connect() as conn:
        assert conn.scalar(select(events.c.id).where(events.c.seq == 2)) == evs[1]["id"]
        c = read_ingest_counters(conn)
    rows = dead(engine)
    assert {(r["seq"], r["reason"], r["event_id"]) for r in rows} == {
        (2, "seq_conflict", reused_seq["id"]),
        (9, "seq_conflict", evs[0]["id"]),
    }
    assert (c["events_stored"], c["duplicates_ignored"], c["dead_letters"]) == (4, 0, 2)
    assert sum(type_counts(engine).values()) == 4


def test_group_commit_answers_each_message(engine: Engine, ingestor: Ingestor) -> None:
    a = events_for(range(1, 6))
    b = events_for(range(1, 4), device="s2-k1", store="s2")
    out = ingestor.process(
        [
            batch_msg(a[:3], "a1"),
            batch_msg(b, "b1", device="s2-k1", store="s2"),
            batch_msg(a[2:], "a2"),  # seq 3 again, inside the same transaction
            Incoming(topics.events(STORE, DEVICE), b"nope"),
        ]
    )
    got = [(topic, ack.batch_id, ack.acked) for topic, ack in acks(out)]
    assert got == [
        (topics.ack(STORE, DEVICE), "a1", [(1, 3)]),
        (topics.ack("s2", "s2-k1"), "b1", [(1, 3)]),
        (topics.ack(STORE, DEVICE), "a2", [(3, 5)]),
    ]
    assert stored_seqs(engine) == [1, 2, 3, 4, 5]
    assert stored_seqs(engine, "s2-k1") == [1, 2, 3]
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
    assert core(c) == {"events_stored": 8, "duplicates_ignored": 1, "dead_letters": 1,
                       "messages": 4}  # fmt: skip
    assert sum(type_counts(engine).values()) == 8


def test_values_the_database_cannot_hold_are_rejected_not_fatal(
    engine: Engine, ingestor: Ingestor
) -> None:
    evs = events_for(range(1, 6))
    evs[0]["session_id"] = "a\x00b"  # PostgreSQL text cannot hold NUL
    evs[1]["occurred_at"] = "0001-01-01T00:00:00+05:00"  # before year 1 in UTC
    evs[2] = event(3, "product.searched")
    evs[2]["data"]["query"] = "nul \x00 inside json is fine"
    evs[4]["mono_ns"] = 2**63  # beyond BIGINT
    ack = only_ack(ingestor.process([batch_msg(evs, "b1")]))
    assert ack.acked == [(3, 4)]
    assert {r.seq: r.reason.value for r in ack.rejected} == {
        1: "schema_violation",
        2: "schema_violation",
        5: "out_of_range",
    }
    assert len(dead(engine)) == 3
    with engine.connect() as conn:
        data = conn.scalar(select(events.c.data).where(events.c.seq == 3))
    assert data["query"] == "nul \x00 inside json is fine"


class _Boom:
    def apply(self, conn, new_events, received_at) -> None:
        raise RuntimeError("effect failed")


def test_a_failing_effect_rolls_back_everything_and_sends_no_ack(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="effect failed"):
        Ingestor(engine, effects=[_Boom()]).process([batch_msg(events_for(range(1, 4)), "b1")])
    assert count(engine, events) == 0
    assert count(engine, devices) == 0
    with engine.connect() as conn:
        assert read_ingest_counters(conn)["messages"] == 0
    # The same messages go through once the fault is gone.
    assert only_ack(Ingestor(engine).process([batch_msg(events_for(range(1, 4)), "b1")])).acked == [
        (1, 3)
    ]


def test_locked_sqlite_raises_a_retryable_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        store_db.migrate(engine)
        # another writer holds the lock
        with store_db.write_transaction(engine), pytest.raises(Exception) as info:
            Ingestor(engine).process([batch_msg(events_for(range(1, 3)), "b1")])
        assert is_retryable(info.value)
        assert not is_retryable(RuntimeError("a bug"))
        with pytest.raises(Exception) as missing, engine.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
        assert not is_retryable(missing.value)  # OperationalError too, but not transient
        assert only_ack(Ingestor(engine).process([batch_msg(events_for(range(1, 3)), "b1")]))
    finally:
        engine.dispose()


def test_random_resends_and_reorders_store_each_event_once(
    engine: Engine, ingestor: Ingestor
) -> None:
    rnd = random.Random(7)
    evs = events_for(range(1, 61))
    sent = 0
    for i in range(25):
        lo = rnd.randrange(0, 60)
        chunk = evs[lo : lo + rnd.randrange(1, 15)]
        rnd.shuffle(chunk)
        msgs = [batch_msg(chunk, f"b{i}")]
        if rnd.random() < 0.3:
            msgs.append(batch_msg(chunk[::-1], f"b{i}-dup"))
        sent += sum(len(json.loads(m.payload)["events"]) for m in msgs)
        for _, ack in acks(ingestor.process(msgs)):
            assert ack.rejected == []
    distinct = count(engine, events)
    with engine.connect() as conn:
        c = read_ingest_counters(conn)
    assert c["events_stored"] == distinct == sum(type_counts(engine).values())
    assert c["events_stored"] + c["duplicates_ignored"] == sent


def test_prepared_groups_merged_commit_as_one_group(tmp_path) -> None:
    """The service prepares groups while another commits, then merges what is ready:
    the result must be that of processing all the messages at once."""
    birth = {"state": "online", "version": "1.4.2", "config_version": 7, "boot_id": "boot-1"}
    a = events_for(range(1, 8))
    b = events_for(range(1, 4), device="s2-k1", store="s2")
    messages = [
        heartbeat_msg(at(1), queue_depth=3),
        batch_msg(a[:4], "a1", at=at(2)),
        status_msg(birth, at(3), device="s2-k1", store="s2"),
        batch_msg(b, "b1", device="s2-k1", store="s2", at=at(4)),
        Incoming(topics.events(STORE, DEVICE), b"nope", at(5)),
        batch_msg(a[3:], "a2", at=at(6)),  # seq 4 again, in another prepared group
        status_msg({"state": "offline"}, at(7), device="s2-k1", store="s2"),
        heartbeat_msg(at(8), queue_depth=0),
    ]

    def run(split: list[int]) -> tuple:
        eng = make_engine(f"sqlite:///{tmp_path / f'{len(split)}.db'}")
        store_db.migrate(eng)
        ing = Ingestor(eng)
        parts = [messages[i:j] for i, j in zip([0, *split], [*split, len(messages)], strict=True)]
        prepared = [ing.prepare(p) for p in parts]
        for p in prepared[1:]:
            prepared[0].merge(p)
        assert prepared[0].messages == len(messages)
        out = acks(ing.commit(prepared[0]))
        with eng.connect() as conn:
            counters = read_ingest_counters(conn)
        rows = (
            stored_seqs(eng), stored_seqs(eng, "s2-k1"), type_counts(eng),
            [(d["reason"], d["topic"]) for d in dead(eng)],
            [device_row(eng, d) for d in (DEVICE, "s2-k1")],
        )  # fmt: skip
        eng.dispose()
        return out, counters, rows

    whole = run([])
    assert core(whole[1]) == {"events_stored": 10, "duplicates_ignored": 1, "dead_letters": 1,
                              "messages": 8}  # fmt: skip
    assert run([3, 5]) == whole
    assert run([1, 2, 4, 6, 7]) == whole
    ing = Ingestor(make_engine(f"sqlite:///{tmp_path / 'once.db'}"))
    store_db.migrate(ing.engine)
    once = ing.prepare([heartbeat_msg(at(1))])
    ing.commit(once)
    with pytest.raises(RuntimeError, match="already committed or merged"):
        ing.commit(once)  # a retry must prepare the messages again
