"""Faults e and f: bad messages from a raw MQTT client, and an outbox at its caps."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from edge_sync import Outbox, OutboxFull
from edge_sync.protocol import new_event_id, topics
from tests.faults.harness import simulated_mix
from tests.support import REPO_ROOT
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for


def raw_event(
    seq: int, device: str, store: str, type_: str = "product.searched", data=None
) -> dict:
    return {
        "id": new_event_id(),
        "seq": seq,
        "type": type_,
        "v": 1,
        "store_id": store,
        "device_id": device,
        "occurred_at": "2026-11-23T10:00:00.000Z",
        "mono_ns": 5,
        "boot_id": "raw",
        "clock_synced": True,
        "session_id": None,
        "data": data
        if data is not None
        else {"query": "tent", "results": 3, "in_stock_results": 1},
    }


def test_e_malformed_and_invalid_events_are_dead_lettered_and_the_rest_flow(spine):
    s = spine
    s.start_central()
    s.start_edge()
    rogue, store = "s001-k9", "s001"  # a second "device" speaking through a raw client
    with MqttProbe(s.broker.host, s.broker.port, client_id="rogue") as probe:
        probe.subscribe(topics.ack(store, rogue))
        # 1. Not JSON at all: dead-lettered whole; nothing to ack.
        probe.publish(topics.events(store, rogue), b"\x00{definitely not json", qos=1)
        # 2. A batch with good and bad events.
        events = [
            raw_event(1, rogue, store),
            raw_event(2, rogue, store, data={"query": "tent"}),  # fields missing
            raw_event(3, rogue, store, type_="pickup.teleported"),  # unknown type
            raw_event(4, "s001-k1", store),  # says it is another device
            raw_event(5, rogue, store),
        ]
        batch = {"batch_id": "rogue-1", "device_id": rogue, "store_id": store, "events": events}
        probe.publish(topics.events(store, rogue), json.dumps(batch).encode(), qos=1)
        ack_msg = probe.wait_message(topics.ack(store, rogue), timeout=30)
    ack = json.loads(ack_msg.payload)
    assert ack["batch_id"] == "rogue-1"
    assert ack["acked"] == [[1, 1], [5, 5]]
    reasons = {r["seq"]: r["reason"] for r in ack["rejected"]}
    assert reasons == {2: "schema_violation", 3: "unknown_type", 4: "device_topic_mismatch"}
    dead = s.dead_letters()
    by_reason = sorted(d["reason"] for d in dead)
    assert by_reason == [
        "device_topic_mismatch",
        "malformed_json",
        "schema_violation",
        "unknown_type",
    ]
    schema = next(d for d in dead if d["reason"] == "schema_violation")
    assert "data.results: Field required" in schema["detail"]

    # Meanwhile the real kiosk's events flow as usual.
    sim = s.simulate(300)
    assert sim.wait(60) == 0
    count, _ = simulated_mix(sim.log_text())
    s.wait_drained(count + 2)
    assert sum(s.type_counters().values()) == count
    assert s.ingest_counter("dead_letters") == 4


@pytest.mark.allow_logged_errors
def test_f_outbox_caps_evict_analytics_keep_pickups_then_refuse(spine):
    s = spine
    s.outbox = {"max_rows": 300}
    s.write_configs()
    # The broker is unreachable for now: everything piles up in the outbox.
    s.broker.stop()
    sim = s.simulate(1000, seed=11)
    assert sim.wait(60) == 0, sim.log_tail()
    enqueued, mix = simulated_mix(sim.log_text())
    con = sqlite3.connect(s.edge_db)
    kept = dict(con.execute("SELECT type, count(*) FROM outbox GROUP BY type").fetchall())
    con.close()
    critical = {
        "qr.scanned",
        "visit.linked",
        "campaign.scanned",
        "pickup.confirmed",
        "pickup.refused",
        "consent.recorded",
    }
    for t in critical:
        assert kept.get(t, 0) == mix.get(t, 0), f"{t} was evicted"
    assert sum(kept.values()) == 300
    ob = Outbox(
        s.edge_db, store_id=s.store, device_id=s.device, max_rows=300, max_bytes=512 * 1024 * 1024
    )
    try:
        st = ob.stats()
        assert st.evicted_total == enqueued - 300
        # Fill the rest with pickups until even they cannot be stored.
        pickups = 0
        with pytest.raises(OutboxFull) as exc:
            while True:
                ob.enqueue(
                    "pickup.confirmed",
                    {
                        "order_id": f"o-{pickups}",
                        "staff_id": "st-1",
                        "items": 1,
                        "method": "lookup",
                    },
                )
                pickups += 1
        assert "full" in str(exc.value)
        total_now = ob.stats().depth
    finally:
        ob.close()
    assert total_now == 300
    # What the kiosk would show the person: the CLI prints the same clear error, exit 3.
    r = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "main.py"),
            "edge",
            "simulate",
            "--config",
            str(s.device_cfg),
            "--count",
            "50",
            "--seed",
            "99",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 3 and "error:" in r.stderr and "full" in r.stderr, r.stderr
    con = sqlite3.connect(s.edge_db)
    stored_types = dict(con.execute("SELECT type, count(*) FROM outbox GROUP BY type").fetchall())
    con.close()
    depth = sum(stored_types.values())
    # Broker back: exactly what the outbox holds reaches central, once.
    s.broker.restart()
    s.start_central()
    s.start_edge()
    s.wait_drained(depth)
    s.assert_exactly_once(depth, stored_types)
    # The evictions were reported to central in the heartbeat.
    wait_for(
        lambda: (s.device_row().get("evicted_total") or 0) >= enqueued - 300,
        timeout=20,
        message="evictions reported in the heartbeat",
    )
