"""The inventory routes: who may call them, what they answer, and the imports' 413 and
422, on both backends."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.errors import PROBLEM_JSON
from central_api.api.middleware import MAX_BODY_BYTES
from tests.central.api import test_auth as auth_matrix
from tests.central.api.conftest import Keys, bearer

from .helpers import CATALOG, CATALOG_HEADER, STOCK, STOCK_HEADER, STORE_HEADER, STORES, csv
from .helpers import snapshot as tables

READERS = ("admin", "marketer", "integration")
ROUTES = [
    # no body: the right role gets as far as the CSV check (an empty file)
    auth_matrix.Route("POST", "/api/v1/catalog/import", ("admin", "integration"), 422),
    auth_matrix.Route("POST", "/api/v1/stores/import", ("admin", "integration"), 422),
    auth_matrix.Route("POST", "/api/v1/stock/import", ("admin", "integration"), 422),
    auth_matrix.Route("GET", "/api/v1/stores", READERS, 200),
    auth_matrix.Route("GET", "/api/v1/stores/s-none/nearby", READERS, 404),
    auth_matrix.Route("GET", "/api/v1/products/NONE/availability", READERS, 404),
]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_auth_matrix(route, client, engine, keys) -> None:
    auth_matrix.test_route_rejects_every_bad_caller_and_admits_its_roles(
        route, client, engine, keys
    )


def post(client: TestClient, keys: Keys, what: str, body: bytes, query: str = "") -> object:
    headers = {**bearer(keys.integration), "Content-Type": "text/csv"}
    return client.post(f"/api/v1/{what}/import{query}", content=body, headers=headers)


def seed(client: TestClient, keys: Keys) -> None:
    for what, header, rows in [("stores", STORE_HEADER, STORES),
                               ("catalog", CATALOG_HEADER, CATALOG),
                               ("stock", STOCK_HEADER, STOCK)]:  # fmt: skip
        r = post(client, keys, what, csv(header, rows))
        assert r.status_code == 200, r.text


def test_imports_answer_their_counts(client: TestClient, keys: Keys, engine: Engine) -> None:
    r = post(client, keys, "stores", csv(STORE_HEADER, STORES), "?dry_run=true")
    assert r.status_code == 200 and r.json() == {
        "dry_run": True, "rows": 3, "created": 3, "updated": 0, "unchanged": 0, "version": 1,
    }  # fmt: skip
    assert tables(engine)["stores"] == []
    seed(client, keys)
    r = post(client, keys, "stock", csv(STOCK_HEADER, STOCK[:1]))
    assert r.json() == {
        "dry_run": False, "rows": 1, "created": 0, "updated": 0, "unchanged": 1, "stores": 1,
        "removed": 1, "versions": {"s-muc": 2},
    }  # fmt: skip


def test_a_bad_file_is_a_422_listing_each_line(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    seed(client, keys)
    before = tables(engine)
    body = csv(STOCK_HEADER, [["s-muc", "A-1", "1", "1"], ["s-muc", "A-9", "x", "1"],
                              ["s-gone", "A-1", "1", "1"]])  # fmt: skip
    r = post(client, keys, "stock", body)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON
    doc = r.json()
    assert doc["type"] == "urn:omnikiosk:problem:invalid-import"
    assert doc["detail"] == (
        "the CSV has 2 bad lines; nothing was imported (first: line 3: quantity: 'x' is not "
        "a whole number from 0 to 1,000,000,000)"
    )
    assert [(e["line"], e["field"], e["detail"]) for e in doc["errors"]] == [
        (3, "line 3: quantity", "'x' is not a whole number from 0 to 1,000,000,000"),
        (4, "line 4: store_id", "no store s-gone; import it first"),
    ]
    assert tables(engine) == before


def test_bodies_over_the_limit_are_413(client: TestClient, keys: Keys, engine: Engine) -> None:
    rows = [["s-muc", f"A-{i}", "1", "1"] for i in range(MAX_BODY_BYTES // 12)]
    body = csv(STOCK_HEADER, rows)
    assert len(body) > MAX_BODY_BYTES
    r = post(client, keys, "stock", body)
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM_JSON
    assert str(MAX_BODY_BYTES) in r.json()["detail"]
    r = post(client, keys, "catalog", "sku\n\udcff".encode("utf-8", "surrogateescape"))
    assert r.status_code == 422 and "not UTF-8" in r.json()["detail"]


def test_reads(client: TestClient, keys: Keys) -> None:
    seed(client, keys)
    h = bearer(keys.marketer)
    page = client.get("/api/v1/stores?limit=2", headers=h).json()
    assert [s["id"] for s in page["items"]] == ["s-aug", "s-ber"] and page["next"]
    rest = client.get(f"/api/v1/stores?limit=2&cursor={page['next']}", headers=h).json()
    assert [s["id"] for s in rest["items"]] == ["s-muc"] and rest["next"] is None
    assert rest["items"][0]["stock_as_of"].endswith("Z")

    near = client.get("/api/v1/stores/s-muc/nearby?km=600", headers=h).json()
    assert near["store"]["id"] == "s-muc" and near["km"] == 600
    assert [(s["id"], round(s["distance_km"])) for s in near["items"]] == [
        ("s-aug", 56), ("s-ber", 504),
    ]  # fmt: skip
    r = client.get("/api/v1/stores/s-muc/nearby?km=0", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "km"
    r = client.get("/api/v1/stores/BAD ID/nearby", headers=h)
    assert r.status_code == 422

    every = client.get("/api/v1/products/A-1/availability", headers=h).json()
    assert every["name"] == "Spade"
    assert [(s["store_id"], s["state"], s["quantity"], s["distance_km"]) for s in every["stores"]] == [
        ("s-aug", "out", None, None), ("s-ber", "out", None, None), ("s-muc", "in_stock", 10, None),
    ]  # fmt: skip
    here = client.get("/api/v1/products/A-2/availability?store=s-muc&km=100", headers=h).json()
    assert [(s["store_id"], s["state"], s["quantity"], round(s["distance_km"])) for s in here["stores"]] == [
        ("s-muc", "low", 3, 0), ("s-aug", "out", None, 56),
    ]  # fmt: skip
    r = client.get("/api/v1/products/A-1/availability?store=s-none", headers=h)
    assert r.status_code == 404 and r.json()["detail"] == "no store s-none"
    r = client.get("/api/v1/products/Z-1/availability", headers=h)
    assert r.status_code == 404 and r.json()["detail"] == "no product Z-1"
