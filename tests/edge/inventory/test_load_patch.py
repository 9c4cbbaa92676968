"""A snapshot that changes few products patches the live products in place: renamed,
repriced, added and removed products come out as the snapshot has them, in the
products table and in search, and the search index stays consistent with its content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge_sync.db import open_edge_db
from edge_sync.inventory import load
from edge_sync.inventory.availability import Availability
from edge_sync.protocol.store_data import BadStoreData, parse_snapshot

from .feed import STORE, product_row, store_obj


def _body(products: list[list[Any]], version: int) -> bytes:
    return json.dumps({
        "format": 1, "store_id": STORE, "version": version, "built_at": "2026-12-01T10:00:00Z",
        "store": store_obj(), "products": products, "stock": [], "nearby_stores": [],
        "nearby_stock": [], "staff": [], "pickups": [],
    }).encode()  # fmt: skip


def _rows(db: Path) -> list[tuple[Any, ...]]:
    conn, _ = open_edge_db(db)
    try:
        return conn.execute("SELECT * FROM products ORDER BY sku").fetchall()
    finally:
        conn.close()


def test_few_changes_are_patched_in_place_and_searchable(db_path, caplog):
    first = [product_row(i) for i in range(50)]
    conn, _ = open_edge_db(db_path)
    load.load_snapshot(conn, parse_snapshot(_body(first, 1), STORE))
    before = {r[1]: r[0] for r in _rows(db_path)}  # sku → id
    second = [p for p in first if p[0] != "SKU-00007"]  # removed
    second[3] = product_row(3, "Copper Kettle")  # renamed
    second[4] = [*second[4][:5], 9999, *second[4][6:]]  # repriced only
    second.append(product_row(77, "Garden Gnome"))  # added
    caplog.set_level("INFO", logger="edge_sync.inventory.load")
    load.load_snapshot(conn, parse_snapshot(_body(second, 2), STORE))
    assert "patching 4 products" in caplog.text
    rows = _rows(db_path)
    assert [list(r[1:]) for r in rows] == sorted(second)
    # kept ids: the live index's entries stay right
    assert all(before[r[1]] == r[0] for r in rows if r[1] in before)
    conn.execute("INSERT INTO products_fts (products_fts) VALUES ('integrity-check')")
    conn.close()
    a = Availability(db_path)
    try:
        assert [h.product.sku for h in a.search("kettle").hits] == ["SKU-00003"]
        assert [h.product.sku for h in a.search("gnome").hits] == ["SKU-00077"]
        assert a.search("SKU-00007").hits == []
        assert "SKU-00003" not in [h.product.sku for h in a.search("product 3").hits]
        assert a.product("SKU-00004").product.price_minor == 9999
        assert "copper" in a.search("coppr").corrected["coppr"]  # the vocabulary too
    finally:
        a.close()


@pytest.mark.parametrize("live", [False, True])
def test_a_sku_twice_is_refused_and_keeps_the_old_data(db_path, live):
    conn, _ = open_edge_db(db_path)
    first = [product_row(i) for i in range(5)]
    if live:
        load.load_snapshot(conn, parse_snapshot(_body(first, 1), STORE))
    twice = [*first, product_row(2, "Other name")]
    with pytest.raises(BadStoreData, match="twice"):
        load.load_snapshot(conn, parse_snapshot(_body(twice, 2), STORE))
    conn.close()
    assert [list(r[1:]) for r in _rows(db_path)] == (first if live else [])
