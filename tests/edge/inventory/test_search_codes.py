"""Typed codes and broad queries: a SKU or barcode being typed is found through its
B-tree index in code order, any case, before the index's matches; a query matching
more products than bm25 ranks quickly goes by tiers (name, code, anywhere)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_sync.db import open_edge_db
from edge_sync.inventory import availability, load
from edge_sync.inventory.availability import Availability, looks_like_code
from edge_sync.protocol.store_data import parse_snapshot

from .feed import STORE, ean13, product_row, store_obj


def _body(products: list[list[Any]], version: int = 1) -> bytes:
    return json.dumps({
        "format": 1, "store_id": STORE, "version": version, "built_at": "2026-12-01T10:00:00Z",
        "store": store_obj(), "products": products, "stock": [], "nearby_stores": [],
        "nearby_stock": [], "staff": [], "pickups": [],
    }).encode()  # fmt: skip


#: SKU-00000 … SKU-00029 (barcodes 400000000000…), then codes that start one another
PRODUCTS = [product_row(i) for i in range(30)] + [
    ["ab-12", ean13("590000000001"), "Hose 12 m", "Brand", "Garden", 500, "EUR", ""],
    ["AB-120", ean13("590000000002"), "Hose reel", "Brand", "Garden", 900, "EUR", ""],
    ["XY-1", ean13("590000000003"), "Adapter AB-12 to AB-13", "Brand", "Garden", 300, "EUR", ""],
]


@pytest.fixture
def search(db_path: Path) -> Iterator[Availability]:
    conn, _ = open_edge_db(db_path)
    load.load_snapshot(conn, parse_snapshot(_body(PRODUCTS), STORE))
    conn.close()
    a = Availability(db_path)
    yield a
    a.close()


def _skus(a: Availability, q: str, limit: int = 20) -> list[str]:
    return [h.product.sku for h in a.search(q, limit=limit).hits]


@pytest.mark.parametrize(
    "typed, code", [("SKU-0", True), ("40", True), ("dr-1", True), ("4000000000017", True),
                    ("sk", False), ("4", False), ("dr 1", False), ("garden", False)],
)  # fmt: skip
def test_what_looks_like_a_code(typed, code):
    assert looks_like_code(typed) is code


def test_a_sku_prefix_in_any_case_comes_in_sku_order(search):
    assert _skus(search, "sku-0001") == [f"SKU-{i:05d}" for i in range(10, 20)]
    assert _skus(search, "SKU-0", limit=5) == [f"SKU-{i:05d}" for i in range(5)]


def test_a_barcode_prefix_comes_in_barcode_order(search):
    assert _skus(search, "40000000001", limit=3) == ["SKU-00010", "SKU-00011", "SKU-00012"]


def test_the_exact_code_first_then_codes_then_names(search):
    # the exact SKU (in another case), the SKU it starts, then a name that has it
    assert _skus(search, "AB-12") == ["ab-12", "AB-120", "XY-1"]
    assert _skus(search, ean13("590000000002")) == ["AB-120"]
    # an exact barcode comes before SKUs that start with the same digits
    assert _skus(search, ean13("400000000003"))[0] == "SKU-00003"


def test_a_full_page_of_codes_skips_the_index(search, monkeypatch):
    calls: list[str] = []
    real = Availability._match
    monkeypatch.setattr(
        Availability, "_match", lambda self, *a: calls.append(a[1]) or real(self, *a)
    )
    assert len(_skus(search, "sku-000", limit=5)) == 5
    assert calls == []
    assert _skus(search, "sku-0002", limit=20)[:10] == [f"SKU-{i:05d}" for i in range(20, 30)]
    assert calls  # fewer codes than the page: the index fills it


def test_typed_codes_use_the_indexes(search):
    conn = search._conn
    for sql in search._prefix_sql:
        plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, ("a", "b", 1)))
        assert "USING INDEX products_" in plan and "_nocase_" in plan, plan
    plan = " ".join(
        r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + search._codes_sql, ("a", "a", 1))
    )
    assert plan.count("_nocase_") == 2, plan


def test_a_broad_query_goes_by_tiers(search, monkeypatch):
    # with a cap of 1 every query matching two or more is broad: the products with it in
    # the name first, in catalog order (the snapshot's), then the codes, then anywhere
    assert sorted(_skus(search, "garden")) == ["AB-120", "XY-1", "ab-12"]  # ranked
    monkeypatch.setattr(availability, "RANK_CAP", 1)
    assert _skus(search, "hose") == ["ab-12", "AB-120"]
    assert _skus(search, "ab") == ["XY-1", "ab-12", "AB-120"]  # the name, then the SKUs
    assert _skus(search, "garden") == ["ab-12", "AB-120", "XY-1"]  # in no name: anywhere
    assert _skus(search, "garden", limit=2) == ["ab-12", "AB-120"]


def test_a_patched_set_from_before_gets_the_code_indexes(db_path):
    conn, _ = open_edge_db(db_path)
    load.load_snapshot(conn, parse_snapshot(_body(PRODUCTS), STORE))
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%nocase%'"
    ).fetchall():
        conn.execute(f'DROP INDEX "{name}"')  # as a set loaded by an earlier version
    changed = [*PRODUCTS[:-1], [*PRODUCTS[-1][:5], 301, "EUR", ""]]
    load.load_snapshot(conn, parse_snapshot(_body(changed, 2), STORE))
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'products' "
        "AND name LIKE '%nocase%' ORDER BY name"
    )]  # fmt: skip
    assert names == ["products_barcode_nocase_g2", "products_sku_nocase_g2"]
    load.load_snapshot(conn, parse_snapshot(_body(changed[:-2], 3), STORE))  # patched again
    assert (
        conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%nocase%'"
        ).fetchone()[0]
        == 2
    )  # no second copy
    conn.close()
