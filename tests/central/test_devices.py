"""Device status, heartbeats and the IT view (online / silent / offline, and why)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine

from central_api.domain.fleet.devices import list_devices
from central_api.ingest import Incoming, Ingestor
from central_api.store.tables import devices
from edge_sync.protocol import topics

from .helpers import (
    DEVICE,
    STORE,
    at,
    batch_msg,
    count,
    dead,
    device_row,
    events_for,
    heartbeat_msg,
    status_msg,
)

BIRTH = {"state": "online", "version": "1.4.2", "config_version": 7, "boot_id": "boot-1"}
WILL = {"state": "offline"}


def test_birth_and_last_will_move_the_state(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.process([status_msg(BIRTH, at(0))])
    row = device_row(engine)
    assert (row["state"], row["state_changed_at"], row["last_seen_at"]) == ("online", at(0), at(0))
    assert (row["version"], row["config_version"], row["boot_id"]) == ("1.4.2", 7, "boot-1")
    assert row["store_id"] == "s1"

    ingestor.process([status_msg(dict(BIRTH, reason="reconnect"), at(30))])  # still online
    row = device_row(engine)
    assert (row["state"], row["state_changed_at"], row["state_reason"]) == (
        "online",
        at(0),
        "reconnect",
    )

    ingestor.process([status_msg(WILL, at(60))])
    row = device_row(engine)
    assert (row["state"], row["state_changed_at"], row["state_reason"]) == ("offline", at(60), None)
    # The will is published by the broker: the device was last heard from before it.
    assert row["last_seen_at"] == at(30)
    assert row["version"] == "1.4.2"  # a will carries only the state

    recovered = {"moved_to": "edge.db.corrupt-1", "salvaged_events": 12}
    ingestor.process([status_msg(dict(BIRTH, boot_id="boot-2", db_recovered=recovered), at(90))])
    row = device_row(engine)
    assert (row["state"], row["state_changed_at"], row["boot_id"]) == ("online", at(90), "boot-2")
    assert row["db_recovered"] == recovered


def test_heartbeat_fields_are_stored_and_mean_online(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.process([status_msg(WILL, at(0))])
    assert device_row(engine)["state"] == "offline"
    ingestor.process(
        [
            heartbeat_msg(
                at(10),
                queue_depth=42,
                queue_bytes=4096,
                oldest_unsent_age_s=12.5,
                evicted_total=3,
                dead_letters=1,
                disk_free_bytes=10**10,
                clock_synced=False,
                version="1.4.3",
                config_version=8,
                boot_id="boot-9",
                inflight_batches=2,
                uptime_s=99.0,
            )
        ]
    )
    row = device_row(engine)
    assert (row["state"], row["state_changed_at"], row["state_reason"]) == (
        "online",
        at(10),
        "heartbeat received",
    )
    assert row["last_heartbeat_at"] == row["last_seen_at"] == at(10)
    assert (row["queue_depth"], row["queue_bytes"], row["oldest_unsent_age_s"]) == (42, 4096, 12.5)
    assert (row["evicted_total"], row["dead_letters_device"], row["disk_free_bytes"]) == (
        3,
        1,
        10**10,
    )
    assert (row["clock_synced"], row["version"], row["config_version"]) == (False, "1.4.3", 8)
    assert (row["boot_id"], row["inflight_batches"], row["uptime_s"]) == ("boot-9", 2, 99.0)


def test_signals_arriving_late_do_not_undo_newer_ones(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.process([status_msg(BIRTH, at(0)), heartbeat_msg(at(5), queue_depth=5)])
    ingestor.process([status_msg(WILL, at(20))])
    # A heartbeat sent before the connection was lost, processed after the will.
    ingestor.process([heartbeat_msg(at(15), queue_depth=9)])
    row = device_row(engine)
    assert row["state"] == "offline"
    assert row["queue_depth"] == 9  # newer than the last heartbeat: its numbers count
    # An older heartbeat than the last one applied changes nothing.
    ingestor.process([heartbeat_msg(at(12), queue_depth=1)])
    assert device_row(engine)["queue_depth"] == 9
    # A status older than the last one applied is ignored.
    ingestor.process([status_msg(BIRTH, at(18))])
    assert device_row(engine)["state"] == "offline"
    # A will older than the newest heartbeat does not take the device offline.
    ingestor.process([heartbeat_msg(at(40)), status_msg(WILL, at(35))])  # one group
    row = device_row(engine)
    assert (row["state"], row["state_changed_at"]) == ("online", at(40))
    ingestor.process([heartbeat_msg(at(60))])
    ingestor.process([status_msg(WILL, at(55))])  # processed later by another worker
    row = device_row(engine)
    assert (row["state"], row["state_changed_at"]) == ("online", at(40))


def test_empty_and_broken_status_payloads(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.process([status_msg(b"", at(0))])  # a retained-message clear
    assert count(engine, devices) == 0
    assert dead(engine) == []
    ingestor.process(
        [
            status_msg(b"{oops", at(1)),
            status_msg({"state": "sleeping"}, at(2)),
            heartbeat_msg(at(3), queue_depth=2**70),
            heartbeat_msg(at(4), queue_depth="many"),
        ]
    )
    assert [r["reason"] for r in dead(engine)] == [
        "malformed_json",
        "schema_violation",
        "out_of_range",
        "schema_violation",
    ]
    row = device_row(engine)
    assert row["state"] == "unknown"
    assert row["queue_depth"] is None
    assert row["last_seen_at"] == at(4)


def test_events_update_last_seen(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.process([batch_msg(events_for(range(1, 3)), at=at(5))])
    ingestor.process([batch_msg(events_for(range(3, 5)), at=at(2))])  # older, processed later
    row = device_row(engine)
    assert (row["state"], row["first_seen_at"], row["last_seen_at"]) == ("unknown", at(5), at(5))


def test_list_devices_says_who_is_silent_or_offline_and_why(
    engine: Engine, ingestor: Ingestor
) -> None:
    ingestor.process(
        [
            status_msg(BIRTH, at(0), device="s1-k1"),
            heartbeat_msg(at(100), device="s1-k1"),
            status_msg(BIRTH, at(0), device="s1-k2"),
            heartbeat_msg(at(10), device="s1-k2"),
            status_msg(BIRTH, at(0), device="s1-k3"),
            status_msg({"state": "offline", "reason": "shutdown"}, at(50), device="s1-k3"),
            status_msg(WILL, at(50), device="s1-k4"),
            batch_msg(events_for(range(1, 2), device="s1-k5"), device="s1-k5", at=at(0)),
        ]
    )
    with engine.connect() as conn:
        got = {d["device_id"]: d for d in list_devices(conn, now=at(200))}
    assert {k: (d["state"], d["health"], d["silent"]) for k, d in got.items()} == {
        "s1-k1": ("online", "online", False),
        "s1-k2": ("online", "silent", True),
        "s1-k3": ("offline", "offline", False),
        "s1-k4": ("offline", "offline", False),
        "s1-k5": ("unknown", "unknown", False),
    }
    assert got["s1-k2"]["silent_for_s"] == 190.0
    assert "nothing received for 190 s" in got["s1-k2"]["why"]
    assert got["s1-k3"]["why"] == "shutdown"
    assert got["s1-k4"]["why"] == "connection lost (last will)"
    assert got["s1-k5"]["why"] == "no status received yet"
    # The limit follows the heartbeat interval.
    with engine.connect() as conn:
        relaxed = {
            d["device_id"]: d for d in list_devices(conn, now=at(200), heartbeat_interval_s=120)
        }
    assert relaxed["s1-k2"]["silent"] is False
    assert DEVICE in got


def test_silence_follows_each_devices_own_heartbeat_interval(
    engine: Engine, ingestor: Ingestor
) -> None:
    ingestor.process(
        [
            status_msg(BIRTH, at(0), device="s1-k1"),
            heartbeat_msg(at(100), device="s1-k1", heartbeat_s=5),  # silent after 15 s
            status_msg(BIRTH, at(0), device="s1-k2"),
            heartbeat_msg(at(10), device="s1-k2", heartbeat_s=120),  # silent after 360 s
            status_msg(BIRTH, at(0), device="s1-k3"),
            heartbeat_msg(at(100), device="s1-k3"),  # never said: 3 × 60 s
            status_msg(BIRTH, at(0), device="s1-k4"),
            heartbeat_msg(at(10), device="s1-k4"),
        ]
    )
    with engine.connect() as conn:
        got = {d["device_id"]: d for d in list_devices(conn, now=at(200))}
    assert {k: (d["health"], d["heartbeat_s"]) for k, d in got.items()} == {
        "s1-k1": ("silent", 5.0),
        "s1-k2": ("online", 120.0),
        "s1-k3": ("online", None),
        "s1-k4": ("silent", None),
    }
    assert "(limit 15 s)" in got["s1-k1"]["why"]
    assert "(limit 180 s)" in got["s1-k4"]["why"]
    # A heartbeat that does not carry the interval leaves the reported one in place.
    ingestor.process([heartbeat_msg(at(300), device="s1-k1")])
    assert device_row(engine, "s1-k1")["heartbeat_s"] == 5.0
    ingestor.process([heartbeat_msg(at(301), device="s1-k1", heartbeat_s=30)])
    assert device_row(engine, "s1-k1")["heartbeat_s"] == 30.0


def test_heartbeat_and_status_fields_are_bounded(engine: Engine, ingestor: Ingestor) -> None:
    """Each field range-checked and size-capped; a bad one dead-letters the message."""
    bad = [
        (heartbeat_msg(at(1), heartbeat_s=0), "schema_violation"),
        (heartbeat_msg(at(2), heartbeat_s=10**9), "schema_violation"),
        (heartbeat_msg(at(3), queue_bytes=-1), "schema_violation"),
        (heartbeat_msg(at(4), uptime_s=1e400), "out_of_range"),  # JSON's 1e400 is inf
        (heartbeat_msg(at(5), disk_free_bytes=2**63), "out_of_range"),
        (heartbeat_msg(at(6), version="v" * 65), "schema_violation"),
        (heartbeat_msg(at(7), boot_id="\ud800"), "bad_unicode"),
        (heartbeat_msg(at(8), pad="x" * 20_000), "oversize"),
        (heartbeat_msg(at(9), extra=_nested(50)), "too_deep"),
        (_deep_heartbeat(at(10), 5_000), "too_deep"),  # 10 KB: under the size limit
        (status_msg(dict(BIRTH, reason="r" * 201), at(11)), "schema_violation"),
        (status_msg(dict(BIRTH, config_version=2**64), at(12)), "out_of_range"),
        (status_msg(dict(BIRTH, db_recovered={"problem": "p" * 5000}), at(13)), "oversize"),
        (status_msg(dict(BIRTH, db_recovered={"a": {"b": {"c": {}}}}), at(14)), "too_deep"),
        (status_msg(dict(BIRTH, db_recovered={"x": float("nan")}), at(15)), "out_of_range"),
    ]
    ingestor.process([m for m, _ in bad])
    assert [r["reason"] for r in dead(engine)] == [reason for _, reason in bad]
    row = device_row(engine)
    assert row["state"] == "unknown" and row["heartbeat_s"] is None
    assert row["last_seen_at"] == at(15)
    # NUL in a text field is stored (as U+FFFD), a small db_recovered as it is
    recovered = {"problem": "disk image is malformed\x00", "rows_salvaged": 12}
    ingestor.process([status_msg(dict(BIRTH, version="1.4\x00", db_recovered=recovered), at(20))])
    row = device_row(engine)
    assert (row["state"], row["version"]) == ("online", "1.4\ufffd")
    assert row["db_recovered"] == recovered


def _nested(depth: int) -> list:
    doc: list = []
    for _ in range(depth - 1):
        doc = [doc]
    return doc


def _deep_heartbeat(when: datetime, depth: int) -> Incoming:
    """Nesting that Python's own json could neither write nor read."""
    payload = b'{"at": "%s", "extra": %s%s}' % (
        when.isoformat().encode(),
        b"[" * depth,
        b"]" * depth,
    )
    return Incoming(topics.heartbeat(STORE, DEVICE), payload, when)


def test_a_device_never_lists_as_megabytes(engine: Engine, ingestor: Ingestor) -> None:
    """What ingest stores is bounded; a row stored before it was is shown as a note."""
    ingestor.process([status_msg(BIRTH, at(0)), heartbeat_msg(at(1), version="v" * 64)])
    with engine.begin() as conn:  # as an older central could have stored it
        conn.execute(devices.update().values(db_recovered={"problem": "x" * 2_000_000}))
        (d,) = list_devices(conn, now=at(2))
    assert "left_out" in d["db_recovered"]
    assert len(json.dumps(d, default=str)) < 4096
