"""The kiosk's availability API: search (prefix, full word, SKU, barcode, typo) and a
product's stock here and nearby, with how old the data is."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_sync.db import open_edge_db
from edge_sync.inventory.availability import Availability, stock_state
from edge_sync.inventory.deltas import apply_delta
from edge_sync.inventory.load import load_snapshot
from edge_sync.protocol.store_data import parse_delta, parse_snapshot

from .feed import STORE, delta_payload, ean13, store_obj

PRODUCTS = [
    ["GH-20", ean13("400000000001"), "Garden Hose 20 m", "Gardena", "Garden/Watering", 1999],
    ["CH-16", ean13("400000000002"), "Claw Hammer", "Estwing", "Tools/Hand tools", 2599],
    ["DR-18", ean13("400000000003"), "Cordless Drill 18V", "Bosch", "Tools/Power tools", 9900],
    ["RK-01", ean13("400000000004"), "Leaf Rake", "Gardena", "Garden/Tools", 1299],
    ["MU-01", ean13("400000000005"), "Müller Gartenschere", "Müller", "Garten", 1500],
]


def _snapshot(exact: bool = False, version: int = 7) -> bytes:
    return json.dumps({
        "format": 1, "store_id": STORE, "version": version, "built_at": "2026-12-01T10:00:00Z",
        "store": store_obj(exact=exact),
        "products": [[*p, "EUR", ""] for p in PRODUCTS],
        "stock": [["GH-20", 12, 3], ["CH-16", 2, 3], ["DR-18", 0, 1]],
        "nearby_stores": [
            {**store_obj("s044", exact=False, stock_as_of="2026-12-01T08:00:00Z"), "distance_km": 7.5},
            {**store_obj("s043", exact=True, stock_as_of="2026-12-01T08:30:00Z"), "distance_km": 2.0},
        ],
        "nearby_stock": [["s044", "DR-18", 9, 2], ["s043", "DR-18", 1, 2]],
        "staff": [], "pickups": [],
    }).encode()  # fmt: skip


@pytest.fixture
def loaded(db_path: Path) -> Iterator[tuple[Any, Availability]]:
    conn, _ = open_edge_db(db_path)
    load_snapshot(conn, parse_snapshot(_snapshot(), STORE))
    a = Availability(db_path)
    yield conn, a
    a.close()
    conn.close()


def _skus(a: Availability, q: str) -> list[str]:
    return [h.product.sku for h in a.search(q).hits]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("hammer", ["CH-16"]),  # full word
        ("Hamm", ["CH-16"]),  # prefix, any case
        ("gard", ["GH-20", "RK-01"]),  # prefix of a name and a brand
        ("gardena rake", ["RK-01"]),  # every word must match
        ("power tools", ["DR-18"]),  # category
        ("bosch", ["DR-18"]),  # brand
        ("DR-18", ["DR-18"]),  # SKU
        ("dr-1", ["DR-18"]),  # SKU prefix
        (ean13("400000000002"), ["CH-16"]),  # barcode
        ("40000000000", ["GH-20", "CH-16", "DR-18", "RK-01", "MU-01"]),  # barcode prefix
        ("muller", ["MU-01"]),  # accents folded
        ("Müller", ["MU-01"]),
        ("", []),
        ("***", []),
        ('"unbalanced', []),
    ],
)
def test_search(loaded, query, expected):
    _, a = loaded
    got = _skus(a, query)
    assert sorted(got) == sorted(expected)


def test_the_name_ranks_before_the_category(loaded):
    _, a = loaded
    assert _skus(a, "garden")[0] == "GH-20"  # "Garden" in the name beats it in a category


@pytest.mark.parametrize(
    "typo, word, sku",
    [("hamer", "hammer", "CH-16"), ("hammre", "hammer", "CH-16"), ("gardenq", "garden", "GH-20"),
     ("cordlss", "cordless", "DR-18"), ("draill", "drill", "DR-18")],
)  # fmt: skip
def test_one_typo_is_forgiven(loaded, typo, word, sku):
    _, a = loaded
    r = a.search(typo)
    assert sku in [h.product.sku for h in r.hits]
    assert word in r.corrected[typo]


def test_two_typos_or_short_words_find_nothing(loaded):
    _, a = loaded
    assert a.search("hmaer").hits == []
    assert a.search("xyz").hits == [] and a.search("xyz").corrected == {}


def test_search_hits_carry_stock_here(loaded):
    _, a = loaded
    hits = {h.product.sku: h.here for h in a.search("tools").hits}
    assert hits["CH-16"].state == "low" and hits["CH-16"].quantity is None  # not exact here
    assert hits["DR-18"].state == "out"
    assert hits["RK-01"].listed is False and hits["RK-01"].state == "out"


def test_a_hit_out_here_carries_the_nearest_store_that_has_it(loaded, db_path):
    _, a = loaded
    hits = {h.product.sku: h for h in a.search("tools").hits}
    drill = hits["DR-18"].nearest  # out here; s043 (2.0 km, 1 left) is nearer than s044
    assert drill is not None and (drill.store_id, drill.state, drill.quantity) == (
        "s043", "low", 1,
    )  # fmt: skip
    assert hits["CH-16"].nearest is None  # low here: the shopper can have it here
    assert hits["RK-01"].nearest is None  # not sold here, and no store nearby lists it
    # a store nearby that is out itself is passed over for the next one that has it
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE nearby_stock SET quantity = 0 WHERE store_id = 's043'")
    conn.close()
    far = {h.product.sku: h for h in a.search("drill").hits}["DR-18"].nearest
    assert far is not None and (far.store_id, far.distance_km, far.state) == (
        "s044", 7.5, "in_stock",
    )  # fmt: skip


def test_product_page(loaded):
    _, a = loaded
    p = a.product("DR-18")
    assert (
        p is not None and p.product.name == "Cordless Drill 18V" and p.product.price_minor == 9900
    )
    assert p.here.state == "out" and p.here.quantity is None
    assert [(n.store_id, n.distance_km, n.state, n.quantity) for n in p.nearby] == [
        ("s043", 2.0, "low", 1),  # nearest first; s043 shows exact stock
        ("s044", 7.5, "in_stock", None),
    ]
    assert p.nearby[0].stock_as_of == "2026-12-01T08:30:00Z" and p.nearby[0].age_s > 0
    assert p.data.version == 7 and p.data.built_at == "2026-12-01T10:00:00Z"
    assert p.data.stock_as_of == "2026-12-01T09:00:00Z" and p.data.loaded_at
    assert p.data.delta_at is None and p.data.age_s > 0
    assert a.product("NOPE") is None


def test_exact_numbers_only_where_the_store_shows_them(db_path):
    conn, _ = open_edge_db(db_path)
    load_snapshot(conn, parse_snapshot(_snapshot(exact=True), STORE))
    with _open(db_path) as a:
        assert a.product("GH-20").here.quantity == 12
        assert a.product("DR-18").here.quantity == 0
    conn.close()


class _open:
    def __init__(self, p: Path) -> None:
        self.a = Availability(p)

    def __enter__(self) -> Availability:
        return self.a

    def __exit__(self, *_: object) -> None:
        self.a.close()


def test_deltas_show_at_once(loaded):
    conn, a = loaded
    ch = [["p", "SW-01", ean13("400000000009"), "Spirit Level", "Stabila", "Tools", 2900, "EUR", ""],
          ["s", "SW-01", 4, 5], ["p", "CH-16", ean13("400000000002"), "Sledge Hammer", "Estwing",
          "Tools", 4999, "EUR", ""]]  # fmt: skip
    apply_delta(conn, parse_delta(delta_payload(7, 8, ch), STORE))
    assert _skus(a, "spirit") == ["SW-01"] and _skus(a, "claw") == []
    assert _skus(a, "sledge") == ["CH-16"]
    assert "level" in a.search("levle").corrected["levle"]  # the new word is in the vocabulary
    p = a.product("SW-01")
    assert p.here.state == "low" and p.data.version == 8 and p.data.delta_at


@pytest.mark.parametrize(
    "q, t, state", [(0, 0, "out"), (0, 5, "out"), (1, 5, "low"), (5, 5, "low"), (6, 5, "in_stock"),
                    (1, 0, "in_stock")],
)  # fmt: skip
def test_stock_state(q, t, state):
    assert stock_state(q, t) == state


def test_before_the_first_snapshot_there_is_nothing(db_path):
    a = Availability(db_path)
    assert a.search("hammer").hits == [] and a.product("CH-16") is None
    assert a.data_age().version is None
    a.close()
