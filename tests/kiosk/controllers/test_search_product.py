"""Results as you type (debounced, with the stock here in words) and the product page
(here and nearby, nearest first, and how fresh the data is)."""

from __future__ import annotations

from datetime import timedelta

from kiosk.controllers.search import SearchState

from .conftest import Kiosk


def type_slowly(kiosk: Kiosk, text: str, gap: float = 0.05) -> None:
    for ch in text:
        kiosk.c.search.key(ch)
        kiosk.advance(gap, step=gap)


def test_results_as_you_type_are_debounced(kiosk: Kiosk):
    search = kiosk.c.search
    runs: list[str] = []
    search.subscribe(lambda what: runs.append(search.query) if what == "results" else None)
    type_slowly(kiosk, "rain")
    assert search.state is SearchState.TYPING and runs == []  # keys 50 ms apart: no search yet
    kiosk.advance(0.15)
    assert runs == ["rain"] and search.state is SearchState.RESULTS
    rows = {r.sku: r for r in search.rows()}
    assert set(rows) == {"RJ-01", "RJ-02", "RP-01"}
    assert (rows["RJ-01"].state, rows["RJ-01"].state_text) == ("in_stock", "In stock")
    assert (rows["RJ-02"].state, rows["RJ-02"].state_text) == ("low", "Only a few left")
    assert rows["RP-01"].state == "out" and rows["RP-01"].state_text.startswith("Not in this")
    # the store does not show exact stock: no counts anywhere
    assert {r.count for r in rows.values()} == {None}
    assert rows["RJ-01"].price_text == "€89.00" and rows["RJ-01"].brand == "Nordkap"
    kiosk.c.session.set_language("de")
    de = {r.sku: r for r in search.rows()}
    assert de["RJ-01"].price_text == "89,00 €" and de["RJ-02"].state_text == "Nur noch wenige"


def test_exact_stock_shows_the_count(exact_kiosk: Kiosk):
    search = exact_kiosk.c.search
    search.set_query("rain jacket")
    search.submit()
    rows = {r.sku: r for r in search.rows()}
    assert rows["RJ-01"].count == 12 and rows["RJ-01"].state_text == "12 in stock"
    assert rows["RJ-02"].count == 2 and rows["RJ-02"].state == "low"


def test_a_result_out_here_says_where_the_nearest_store_has_it(kiosk: Kiosk):
    search = kiosk.c.search
    search.set_query("rain")
    search.submit()
    rows = {r.sku: r for r in search.rows()}
    # the poncho is out here; s043 (1.2 km) has 9, s044 (3.4 km) only a few
    assert rows["RP-01"].state == "out"
    assert rows["RP-01"].nearby_text == "In stock at Store s043, 1.2 km"
    assert rows["RP-01"].nearby_state == "in_stock"
    # in stock or low here: nothing about other stores
    assert all(r.nearby_text == "" for sku, r in rows.items() if r.state != "out")
    kiosk.c.session.set_language("de")
    [poncho] = [r for r in search.rows() if r.sku == "RP-01"]
    assert poncho.nearby_text == "Auf Lager in Store s043, 1,2 km"


def test_a_product_not_stocked_here_and_no_results_and_typos(kiosk: Kiosk):
    search = kiosk.c.search
    search.set_query("wool")
    search.submit()
    [row] = search.rows()
    assert row.sku == "WS-01" and row.state_text == "Not sold in this store"
    search.set_query("xyzzy")
    search.submit()
    assert search.state is SearchState.NO_RESULTS and "xyzzy" in (search.message() or "")
    search.set_query("poncjo")
    search.submit()
    assert [r.sku for r in search.rows()] == ["RP-01"]
    assert search.message() == "Showing results for: poncho"
    search.clear()
    assert search.state is SearchState.EMPTY and search.message().startswith("Type")


def test_one_search_is_recorded_when_the_shopper_leaves(kiosk: Kiosk):
    search = kiosk.c.search
    kiosk.c.session.touch()
    for q in ("r", "ra", "rai", "rain"):
        search.set_query(q)
        kiosk.advance(0.2)
    search.leave()
    search.leave()
    [e] = kiosk.events("product.searched")
    assert e["data"] == {"query": "rain", "results": 3, "in_stock_results": 2}
    assert e["session_id"] == kiosk.c.session.id


def test_product_page_here_and_nearby(kiosk: Kiosk):
    view = kiosk.c.product.show("RP-01")
    assert view is not None and view.name == "Rain Poncho" and view.price_text == "€12.99"
    assert view.state == "out" and view.listed
    assert [(n.store_id, n.distance_text) for n in view.nearby] == [
        ("s043", "1.2 km"),
        ("s044", "3.4 km"),
    ]
    near, far = view.nearby
    assert near.count == 9 and near.state_text == "9 in stock"  # s043 shows exact stock
    assert far.count is None and far.state == "low" and far.state_text == "Only a few left"
    assert view.freshness_text == "Updated 5 min ago" and not view.stale
    [e] = kiosk.events("product.viewed")
    assert e["data"] == {"sku": "RP-01", "source": "search", "in_stock": False, "stock_qty": None}
    kiosk.c.session.set_language("de")
    de = kiosk.c.product.view()
    assert de.freshness_text == "Aktualisiert vor 5 Min." and de.nearby[0].distance_text == "1,2 km"


def test_old_data_says_it_may_be_out_of_date(kiosk: Kiosk):
    kiosk.c.product.show("RJ-01", source="browse")
    kiosk.clock.advance(timedelta(days=2).total_seconds())
    view = kiosk.c.product.view()
    assert view.stale and view.freshness_text == "Data from 2 days ago — may be out of date"
    kiosk.c.session.set_language("de")
    assert kiosk.c.product.view().freshness_text.startswith("Stand vor 2 Tagen")


def test_unknown_product(kiosk: Kiosk):
    assert kiosk.c.product.show("NOPE-1") is None and kiosk.c.product.view() is None
    assert kiosk.events("product.viewed") == []
