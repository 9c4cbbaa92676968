"""The simulator hands orders over as staff do at the device: PIN unlock, scan the code,
confirm through the pickup desk, once the order is on the device. Never an order the
device does not have (central could only record it as an unknown_order conflict), and
a second scan of a handed-over code is refused."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from edge_sync import Outbox
from edge_sync.config import DeviceConfig
from edge_sync.db import open_edge_db
from edge_sync.pickups import apply_upserts, get_order
from edge_sync.protocol.ids import format_ts, utcnow
from edge_sync.simulate import DESK, PickupOrders, run_simulation, synthetic_events
from tests.edge.conftest import DEVICE, STORE, all_rows
from tests.edge.pickups.helpers import STAFF, add_staff, pickup_code, store_keys, upsert

TODAY = date.today()


def _order(order_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the orders file's entry, central's upsert) of a ready order valid today."""
    code = pickup_code(order_id, not_before=TODAY - timedelta(days=1))
    now = utcnow()
    up = upsert(
        order_id, code_hash=code.token_hash, ready_at=format_ts(now - timedelta(hours=1)),
        collect_by=format_ts(now + timedelta(days=6)),
    )  # fmt: skip
    entry = {"order_id": order_id, "items": 3, "token_hash": code.token_hash, "code": code.text}
    return entry, up


def _push(db_path: Path, upserts: list[dict[str, Any]]) -> None:
    """What the sync daemon stores from the store's pickups topic."""
    conn, _ = open_edge_db(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        assert apply_upserts(conn, upserts).stored == len(upserts)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.fixture
def device(outbox: Outbox, db_path: Path, tmp_path: Path) -> DeviceConfig:
    """A migrated edge.db with central's key and the staff list, and its config."""
    store_keys(db_path)
    add_staff(db_path)
    (tmp_path / "pin").write_text(STAFF["anna"][1] + "\n")
    return DeviceConfig.model_validate(
        {"device": {"id": DEVICE, "store_id": STORE, "data_dir": str(db_path.parent)},
         "clock": {"source": "assume_synced"}}
    )  # fmt: skip


def _simulate(cfg: DeviceConfig, tmp_path: Path, orders: list[dict], **kw: Any) -> int:
    (tmp_path / "orders.json").write_text(json.dumps(orders))
    args: dict[str, Any] = {
        "seed": 4, "orders_file": str(tmp_path / "orders.json"), "staff_id": "anna",
        "pin_file": str(tmp_path / "pin"), "report_file": str(tmp_path / "report.json"),
        "wait_s": 10.0,
    }  # fmt: skip
    return run_simulation(cfg, kw.pop("count", 1500), **{**args, **kw})


def _events(outbox: Outbox, type_: str) -> list[dict[str, Any]]:
    rows = [json.loads(r.payload) for r in all_rows(outbox)]
    return [e["data"] for e in rows if e["type"] == type_]


def test_each_order_is_handed_over_once_at_the_desk_and_a_second_scan_is_refused(
    device: DeviceConfig, outbox: Outbox, db_path: Path, tmp_path: Path, capsys
) -> None:
    made = [_order(f"o-sim{i:05d}") for i in range(4)]
    _push(db_path, [up for _, up in made[:2]])  # with the snapshot, before the simulator

    # the other two come on the pickups topic while the simulator runs: it waits for them
    threading.Timer(0.5, _push, (db_path, [up for _, up in made[2:]])).start()
    assert _simulate(device, tmp_path, [entry for entry, _ in made]) == 0

    confirmed = _events(outbox, "pickup.confirmed")
    assert sorted(d["order_id"] for d in confirmed) == [e["order_id"] for e, _ in made]
    by_id = {e["order_id"]: e for e, _ in made}
    for d in confirmed:
        assert (d["staff_id"], d["method"]) == ("anna", "qr")
        assert d["token_hash"] == by_id[d["order_id"]]["token_hash"]
    for d in _events(outbox, "pickup.refused"):
        assert d["order_id"] in by_id and d["reason"] == "id_mismatch"
    conn = sqlite3.connect(db_path)
    try:
        for order_id in by_id:
            order = get_order(conn, order_id)
            assert order is not None and order.handed_over and order.handed_over_by == "anna"
    finally:
        conn.close()

    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(report["handed_over"]) == sorted(by_id)
    again = report["second_scan"]
    assert again["order_id"] == report["handed_over"][0]
    assert again["refusal"] == "already_handed_over"
    assert "already handed over" in again["message"] and "Anna Berg (anna)" in again["message"]
    out = capsys.readouterr().out
    assert f"second scan of {again['order_id']}: refused (already_handed_over)" in out
    assert report["enqueued"]["pickup.confirmed"] == 4
    assert sum(report["enqueued"].values()) == 1500  # the desk's events count as enqueued


def test_an_order_the_device_never_gets_fails_the_simulator_saying_which(
    device: DeviceConfig, outbox: Outbox, tmp_path: Path, capsys
) -> None:
    entry, _ = _order("o-nothere1")
    started = time.monotonic()
    assert _simulate(device, tmp_path, [entry], wait_s=0.5) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "the pickup desk on s042-k1: not on this device after" in err
    assert "order o-nothere1" in err
    assert _events(outbox, "pickup.confirmed") == []


def test_a_wrong_pin_is_the_desks_refusal(
    device: DeviceConfig, outbox: Outbox, db_path: Path, tmp_path: Path, capsys
) -> None:
    entry, up = _order("o-wrongpin")
    _push(db_path, [up])
    (tmp_path / "pin").write_text(STAFF["ben"][1] + "\n")  # ben's PIN, for anna
    assert _simulate(device, tmp_path, [entry]) == 1
    assert "Wrong PIN" in capsys.readouterr().err
    assert _events(outbox, "pickup.confirmed") == []


def test_orders_need_a_staff_member_and_a_good_pin_file(
    device: DeviceConfig, tmp_path: Path, capsys
) -> None:
    entry, _ = _order("o-nostaff1")
    assert _simulate(device, tmp_path, [entry], staff_id=None) == 2
    assert "--orders needs --staff ID and --pin-file FILE" in capsys.readouterr().err
    (tmp_path / "pin").write_text("123456\n")
    assert _simulate(device, tmp_path, [entry]) == 2
    assert "a PIN of one repeated digit or a run" in capsys.readouterr().err


def _desk_steps(orders: PickupOrders | None, n: int = 3000, seed: int = 4):
    stream = synthetic_events(random.Random(seed), codes=None, orders=orders)
    return [d for _, t, d, _ in islice(stream, n) if t == DESK or t.startswith("pickup.")]


def test_the_stream_hands_each_order_to_the_desk_until_it_is_collected() -> None:
    orders = [{"order_id": f"o-{i:08d}", "items": 1, "code": "x"} for i in range(5)]
    steps = _desk_steps(PickupOrders(orders))
    confirmed = [s["order"]["order_id"] for s in steps if s["action"] == "confirm"]
    assert sorted(confirmed) == [o["order_id"] for o in orders]  # all, each once
    # a refused handover comes before that order's confirmation, never after it
    for i, s in enumerate(steps):
        if s["action"] == "refuse":
            assert any(
                x["action"] == "confirm" and x["order"] is s["order"] for x in steps[i + 1 :]
            )


def test_without_orders_there_are_no_pickups() -> None:
    assert _desk_steps(None) == []
    assert _desk_steps(PickupOrders([])) == []


def test_a_bad_orders_file_is_refused_saying_what_it_should_be(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"order_id": "o-1"}))
    with pytest.raises(ValueError, match="expected a JSON list"):
        PickupOrders.from_file(path)
