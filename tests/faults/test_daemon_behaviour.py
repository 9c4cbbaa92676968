"""Sync daemon behaviour seen from central: live ahead of backlog, health reports."""

from __future__ import annotations

import sqlite3

from edge_sync import EdgeClient
from edge_sync.config import load_device_config
from tests.faults.harness import simulated_mix
from tests.support.waiting import wait_for


def test_live_events_go_ahead_of_the_backlog(spine):
    s = spine
    s.sync = {"batch_max_events": 50, "inflight_batches": 1}  # a slow drain, to see the order
    s.write_configs()
    s.broker.stop()
    backlog = s.simulate(4000, seed=5)
    assert backlog.wait(60) == 0
    n_backlog, _ = simulated_mix(backlog.log_text())
    s.broker.restart()
    s.start_central()
    s.start_edge()
    s.edge.wait_for_log("send round (connected)")
    # A pickup confirmed at the counter now.
    with EdgeClient.from_config(load_device_config(s.device_cfg)) as client:
        live = client.enqueue(
            "pickup.confirmed",
            {"order_id": "o-live", "staff_id": "st-1", "items": 1, "method": "qr"},
        )
    wait_for(lambda: s.central_has(live.id), timeout=30, message="the live pickup at central")
    stored_when_live_arrived = s.central_count()
    assert stored_when_live_arrived < n_backlog, "the live event waited behind the whole backlog"
    s.wait_drained(n_backlog + 1)
    s.assert_exactly_once(n_backlog + 1)


def test_heartbeat_and_status_tell_it_what_it_needs(spine):
    s = spine
    s.start_central()
    s.start_edge()
    sim = s.simulate(50)
    assert sim.wait(60) == 0
    s.wait_drained(50)
    row = wait_for(
        lambda: (r := s.device_row()).get("last_heartbeat_at") and r.get("queue_depth") == 0 and r,
        timeout=20,
        message="a heartbeat after the drain",
    )
    assert row["state"] == "online"
    assert row["disk_free_bytes"] > 0
    assert row["clock_synced"] in (True, 1)
    assert row["version"]
    assert row["evicted_total"] == 0 and row["dead_letters_device"] == 0
    assert row["heartbeat_s"] == 1.0  # the device's own interval (the spine's config)
    # kill -9: the broker publishes the last will; central marks it offline and says why.
    s.edge.kill9()
    row = wait_for(
        lambda: (r := s.device_row()).get("state") == "offline" and r,
        timeout=60,
        message="offline from the last will",
    )
    assert row["state_reason"] == "connection lost"


def test_a_salvaged_database_is_reported_to_central(spine):
    s = spine
    s.broker.stop()
    sim = s.simulate(600, seed=4)
    assert sim.wait(60) == 0
    before = s.outbox_seqs()
    # Damage the file in the middle, as a power cut on a cheap SD card might.
    con = sqlite3.connect(s.edge_db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = s.edge_db.stat().st_size
    with s.edge_db.open("r+b") as f:
        f.seek(size // 2 - (size // 2) % 4096)
        f.write(b"\xde\xad\xbe\xef" * 2048)
    s.broker.restart()
    s.start_central()
    s.start_edge()
    row = wait_for(
        lambda: (r := s.device_row()).get("db_recovered") and r,
        timeout=30,
        message="the device's status to report the salvage",
    )
    rec = row["db_recovered"]
    assert "quarantined" in str(rec)
    salvaged = rec["rows_salvaged"] if isinstance(rec, dict) else None
    assert salvaged and 0 < salvaged < len(before)
    s.wait_drained(salvaged)
    total, distinct, _ = s.central_events()
    assert total == distinct == salvaged
    assert list(s.tmp.joinpath(s.device).glob("edge.db.corrupt-*"))
