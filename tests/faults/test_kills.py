"""Faults a–d: kill -9 the edge daemon, the broker and central; a broker down for a while.

Each test ends with exactly N distinct events at central, every effect applied once
and nothing left in the outbox. ``OMK_FAULT_LARGE=1`` runs the full sizes.
"""

from __future__ import annotations

import random

from tests.faults.harness import large, simulated_mix
from tests.support.waiting import wait_for


def progress(s, at_least: int, timeout: float = 60.0) -> int:
    """Wait until central has stored ``at_least`` events (something is flowing)."""
    return wait_for(
        lambda: (n := s.central_count()) >= at_least and n,
        timeout=timeout,
        message=f"central to reach {at_least} events",
    )


def test_a_edge_daemon_killed_at_random_moments(spine):
    s = spine
    n_events, kills = (20_000, 50) if large() else (3_000, 20)
    rng = random.Random(7)
    s.start_central()
    s.start_edge()
    sim = s.simulate(n_events, rate=n_events / 8)  # a steady stream while we kill
    stored = 0
    for _ in range(kills):
        # Kill at a random point of the flow: after a random amount of progress
        # (or straight after a restart, before the daemon has even connected).
        if rng.random() < 0.8 and sim.alive:
            stored = progress(s, min(stored + rng.randint(1, 60), n_events - 1))
        s.edge.kill9()
        s.start_edge()
    assert sim.wait(120) == 0, sim.log_tail()
    count, mix = simulated_mix(sim.log_text())
    s.wait_drained(count)
    s.assert_exactly_once(count, mix)
    assert s.edge.log_text().count("=== start:") == kills + 1


def test_b_broker_killed_mid_run(spine):
    s = spine
    n_events = 20_000 if large() else 3_000
    s.start_central()
    s.start_edge()
    sim = s.simulate(n_events, rate=n_events / 6)
    progress(s, n_events // 4)
    s.broker.kill()
    s.broker.restart()
    # back on the new broker before it is killed again (a loaded machine can bring
    # central to half the events with those still in flight before the first kill)

    progress(s, n_events // 2)
    s.broker.kill()
    s.broker.restart()
    assert sim.wait(120) == 0, sim.log_tail()
    count, mix = simulated_mix(sim.log_text())
    s.wait_drained(count)
    s.assert_exactly_once(count, mix)
    # Both sides really lost the broker twice and came back.
    assert s.edge.log_text().count(": connected to") >= 3
    assert s.central.log_text().count(": connected to") >= 3


def test_c_central_killed_mid_run(spine_any_db):
    s = spine_any_db
    n_events = 20_000 if large() else 3_000
    s.start_central()
    s.start_edge()
    sim = s.simulate(n_events, rate=n_events / 6)
    for fraction in (4, 2):
        progress(s, n_events // fraction)
        s.central.kill9()
        s.start_central()
    assert sim.wait(120) == 0, sim.log_tail()
    count, mix = simulated_mix(sim.log_text())
    s.wait_drained(count)
    s.assert_exactly_once(count, mix)
    assert s.central.log_text().count("=== start:") == 3


def test_d_broker_down_while_kiosk_keeps_enqueueing(spine):
    s = spine
    down_s = 60 if large() else 6
    rate = 100
    s.start_central()
    s.start_edge()
    progress_before = s.simulate(200, seed=2, name="before")
    assert progress_before.wait(60) == 0
    s.wait_drained(200)
    s.broker.kill()
    sim = s.simulate(down_s * rate, rate=rate, seed=3, name="during")
    # The kiosk keeps working: its events are committed to the outbox while the broker is away.
    assert sim.wait(down_s + 60) == 0, sim.log_tail()
    count, _ = simulated_mix(sim.log_text())
    assert s.outbox_depth() == count
    assert s.central_count() == 200
    s.broker.restart()
    s.wait_drained(200 + count)
    s.assert_exactly_once(200 + count)
    # Central saw the device go away (last will) and come back.
    wait_for(
        lambda: s.device_row().get("state") == "online", timeout=20, message="device online again"
    )
