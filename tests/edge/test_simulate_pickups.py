"""The simulator hands over only orders it was given, each once: never an order id
central did not make (which central could only record as an unknown_order conflict)."""

from __future__ import annotations

import json
import random
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest

from edge_sync.simulate import PickupOrders, synthetic_events

ORDERS = [
    {"order_id": f"o-{i:08d}", "items": 1 + i % 3, "token_hash": f"{i:064x}"} for i in range(5)
]


def _pickups(orders: PickupOrders | None, n: int = 3000, seed: int = 4):
    stream = synthetic_events(random.Random(seed), codes=None, orders=orders)
    return [(t, d) for _, t, d, _ in islice(stream, n) if t.startswith("pickup.")]


def test_pickups_confirm_the_given_orders_once_each_with_their_code(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(ORDERS))
    orders = PickupOrders.from_file(path)
    got = _pickups(orders)
    confirmed = Counter(d["order_id"] for t, d in got if t == "pickup.confirmed")
    assert confirmed == Counter(o["order_id"] for o in ORDERS)  # all, each once
    assert len(orders) == 0
    known = {o["order_id"]: o for o in ORDERS}
    for t, d in got:
        assert d["order_id"] in known, d
        if t == "pickup.confirmed":
            assert d["token_hash"] == known[d["order_id"]]["token_hash"]
            assert d["items"] == known[d["order_id"]]["items"]
    # a refused handover comes before that order's confirmation, never after it
    for t, d in got:
        if t == "pickup.refused":
            later = got[got.index((t, d)) + 1 :]
            assert ("pickup.confirmed", d["order_id"]) in {(x, y["order_id"]) for x, y in later}


def test_without_orders_there_are_no_pickups() -> None:
    assert _pickups(None) == []
    assert _pickups(PickupOrders([])) == []


def test_a_bad_orders_file_is_refused_saying_what_it_should_be(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"order_id": "o-1"}))
    with pytest.raises(ValueError, match="expected a JSON list"):
        PickupOrders.from_file(path)
