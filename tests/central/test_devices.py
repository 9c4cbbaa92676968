"""Device status, heartbeats and the IT view (online / silent / offline, and why)."""

from __future__ import annotations

from sqlalchemy import Engine

from central_api.domain.devices import list_devices
from central_api.ingest import Ingestor
from central_api.store.tables import devices

from .helpers import (
    DEVICE,
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
        "schema_violation",
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
