"""1,000 events from a kiosk to central: exactly 1,000 stored, outbox empty, counters right."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.faults.harness import simulated_mix
from tests.support import REPO_ROOT
from tests.support.waiting import wait_for


def test_thousand_events_exactly_once(spine_any_db):
    s = spine_any_db
    s.start_central()
    s.start_edge()
    sim = s.simulate(1000)
    assert sim.wait(120) == 0, sim.log_tail()
    count, mix = simulated_mix(sim.log_text())
    assert count == 1000
    s.wait_drained(1000)
    s.assert_exactly_once(1000, mix)
    assert s.ingest_counter("dead_letters") == 0

    # The device reported itself: online, with an empty queue, via status and heartbeat.
    row = wait_for(
        lambda: (
            (r := s.device_row()) and r.get("state") == "online" and r.get("queue_depth") == 0 and r
        ),
        timeout=20,
        message="device online with an empty queue at central",
    )
    assert row["store_id"] == "s001"
    assert row["boot_id"]

    # `central stats --json` says the same.
    out = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "main.py"),
            "--log-level",
            "WARNING",
            "central",
            "stats",
            "--config",
            str(s.central_cfg),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = json.loads(out.stdout)
    assert stats["events_stored"] == 1000
    assert stats["dead_letters"] == 0 or stats["dead_letters"].get("total", 0) == 0

    # A clean stop publishes "offline, shutdown" (not the last will).
    s.edge.terminate()
    row = wait_for(
        lambda: (r := s.device_row()).get("state") == "offline" and r,
        timeout=20,
        message="device offline at central",
    )
    assert row["state_reason"] == "shutdown"
