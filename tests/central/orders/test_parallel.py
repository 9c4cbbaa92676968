"""Several ingest workers and several sweepers at once: each order gets one handover
and one no-show at most, whoever commits first."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from central_api.domain.orders.sweep import sweep
from central_api.ingest import Ingestor
from central_api.store.ops_tables import webhook_deliveries
from central_api.store.order_tables import order_conflicts, order_records

from .support import confirmed, incoming
from .test_pickups import T1, T_READY, order, ready_order

ROOT = Path(__file__).resolve().parents[3]


def _together(*jobs) -> None:
    gate = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job) -> None:
        gate.wait()
        try:
            job()
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_parallel_workers_confirming_one_order_make_one_handover_and_one_conflict(engine, issuer):
    workers = [Ingestor(engine), Ingestor(engine)]
    for n in range(8):
        oid = ready_order(engine, issuer, f"WEB-{n}")
        early = confirmed(oid, T1, "s042-k1", n + 1, staff="st-1")
        late = confirmed(oid, T1 + timedelta(seconds=30), "s042-k2", n + 1, staff="st-2")
        # alternate which worker holds the earlier confirmation
        first, second = (early, late) if n % 2 else (late, early)
        _together(
            lambda e=first: workers[0].process([incoming([e], e["device_id"])]),
            lambda e=second: workers[1].process([incoming([e], e["device_id"])]),
        )
        row = order(engine, oid)
        assert row.state == "picked_up" and row.pickup_event_id == early["id"], n
        with engine.connect() as c:
            found = c.execute(
                select(order_conflicts.c.event_id, order_conflicts.c.winner_event_id).where(
                    order_conflicts.c.order_id == oid
                )
            ).all()
            handovers = c.execute(
                select(func.count()).where(
                    webhook_deliveries.c.event_key == f"order:{oid}:picked_up"
                )
            ).scalar_one()
        assert found == [(late["id"], early["id"])], n
        assert handovers == 1


def test_sweepers_running_at_once_move_each_order_once(engine, issuer):
    ids = sorted(ready_order(engine, issuer, f"WEB-{n}") for n in range(12))
    later = T_READY + timedelta(days=7, seconds=1)
    assert sweep(engine, 7, T_READY + timedelta(days=7)) == []  # not yet: exactly 7 days
    moved: list[list[str]] = [[], [], []]
    _together(*(lambda i=i: moved[i].extend(sweep(engine, 7, later)) for i in range(3)))
    assert sorted(moved[0] + moved[1] + moved[2]) == ids
    assert sweep(engine, 7, later) == []  # idempotent
    with engine.connect() as c:
        states = set(c.execute(select(order_records.c.state)).scalars())
        no_shows = c.execute(
            select(func.count()).where(webhook_deliveries.c.event_type == "order.no_show")
        ).scalar_one()
    assert states == {"no_show"} and no_shows == len(ids)


def test_the_sweep_command_moves_what_is_due_as_of_its_time(engine, issuer, db_url, tmp_path):
    oid = ready_order(engine, issuer)
    cfg = tmp_path / "central.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[orders]\nno_show_days = 3\n')

    def run(now: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "main.py", "central", "orders", "sweep", "--config", str(cfg),
             "--now", now],
            cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ},
        )  # fmt: skip

    early = run((T_READY + timedelta(days=2)).isoformat())
    assert early.returncode == 0 and early.stdout == "", early.stderr
    due = run((T_READY + timedelta(days=3, minutes=1)).isoformat())
    assert due.returncode == 0, due.stderr
    assert due.stdout.split() == [oid]
    assert "1 order(s) not collected within 3 days are now no_show" in due.stderr
    assert order(engine, oid).state == "no_show"
    bad = run("yesterday")
    assert bad.returncode == 2 and "not an RFC 3339 time" in bad.stderr
