"""The rules and webhook routes: auth for every route, CRUD, pagination, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.errors import PROBLEM_JSON
from central_api.api.keys import ROLES
from central_api.api.pagination import encode_cursor
from central_api.domain.webhooks.webhooks import forget_profiles
from central_api.store import write_transaction
from central_api.store.ops_tables import webhook_deliveries
from tests.central.api.conftest import Keys, bearer

from .data import rules_text

TOML = rules_text("auth-1")
HOOK = {"url": "https://crm.example.com/hook", "events": ["threshold.crossed"]}

#: method, path, roles, success status, body ("json", …) or ("toml", text)
ROUTES: list[tuple[str, str, tuple[str, ...], int, tuple[str, Any] | None]] = [
    ("GET", "/api/v1/rules", ("admin", "marketer"), 200, None),
    ("POST", "/api/v1/rules/dry-run", ("admin",), 200, ("toml", TOML)),
    ("PUT", "/api/v1/rules", ("admin",), 200, ("toml", TOML)),
    ("GET", "/api/v1/webhooks", ("admin",), 200, None),
    ("POST", "/api/v1/webhooks", ("admin",), 201, ("json", HOOK)),
    ("DELETE", "/api/v1/webhooks/{hook}", ("admin",), 204, None),
    ("GET", "/api/v1/webhooks/{hook}/deliveries", ("admin",), 200, None),
]


def request(
    client: TestClient, keys: Keys, method: str, path: str, key: str | None, body: Any
) -> Any:
    if "{hook}" in path:  # a webhook of its own for each call
        made = client.post("/api/v1/webhooks", json=HOOK, headers=bearer(keys.admin))
        path = path.format(hook=made.json()["id"])
    headers = bearer(key) if key else {}
    if body is None:
        return client.request(method, path, headers=headers)
    kind, value = body
    if kind == "json":
        return client.request(method, path, headers=headers, json=value)
    return client.request(method, path, headers=headers, content=value.encode())


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_each_route_needs_a_key_of_its_roles(
    route: tuple[str, str, tuple[str, ...], int, Any], client: TestClient, keys: Keys
) -> None:
    method, path, roles, ok, body = route
    for key, status in [(None, 401), (keys.revoked, 401), (keys.unknown, 401)]:
        r = request(client, keys, method, path, key, body)
        assert r.status_code == status and r.headers["content-type"] == PROBLEM_JSON, r.text
    for role in ROLES:
        r = request(client, keys, method, path, keys.for_role(role), body)
        if role in roles:
            assert r.status_code == ok, f"{role}: {r.status_code} {r.text}"
        else:
            assert r.status_code == 403 and r.json()["type"].endswith("forbidden"), role


def test_openapi_documents_the_routes_roles_and_toml_bodies(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for method, path, roles, _ok, body in ROUTES:
        op = doc["paths"][path.replace("{hook}", "{webhook_id}")][method.lower()]
        assert op["x-omk-roles"] == list(roles) and op["security"] == [{"apiKey": []}]
        if body and body[0] == "toml":
            assert "application/toml" in op["requestBody"]["content"]
            assert {"409", "413", "422"} <= set(op["responses"])


def test_webhooks_are_created_listed_paginated_and_deleted(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    admin = bearer(keys.admin)
    made = [
        client.post("/api/v1/webhooks", json={"url": f"https://h{i}.example/x"}, headers=admin)
        for i in range(3)
    ]
    assert all(r.status_code == 201 for r in made)
    first = made[0].json()
    assert first["events"] == ["threshold.crossed"] and first["active"] is True
    assert made[0].headers["location"] == f"/api/v1/webhooks/{first['id']}"
    assert made[0].headers["cache-control"] == "no-store"
    page = client.get("/api/v1/webhooks?limit=2", headers=admin).json()
    assert [h["url"] for h in page["items"]] == ["https://h0.example/x", "https://h1.example/x"]
    assert all("secret" not in h for h in page["items"])  # shown once, at creation
    rest = client.get(f"/api/v1/webhooks?limit=2&cursor={page['next']}", headers=admin).json()
    assert [h["url"] for h in rest["items"]] == ["https://h2.example/x"] and rest["next"] is None

    # The delivery log, newest first, two per page, filtered by status.
    with write_transaction(engine) as conn:
        now = datetime.now(UTC)
        conn.execute(
            webhook_deliveries.insert(),
            [{"webhook_id": first["id"], "event_key": f"k{i}", "event_type": "threshold.crossed",
              "profile_id": "p-1", "payload": {"n": i}, "status": "failed" if i else "pending",
              "attempts": 0, "next_attempt_at": now, "created_at": now} for i in range(3)],
        )  # fmt: skip
    url = f"/api/v1/webhooks/{first['id']}/deliveries"
    p1 = client.get(f"{url}?limit=2", headers=admin).json()
    p2 = client.get(f"{url}?limit=2&cursor={p1['next']}", headers=admin).json()
    assert [d["event_key"] for d in p1["items"] + p2["items"]] == ["k2", "k1", "k0"]
    failed = client.get(f"{url}?status=failed", headers=admin).json()
    assert [d["event_key"] for d in failed["items"]] == ["k2", "k1"]
    with write_transaction(engine) as conn:  # erasure's cleaner
        assert forget_profiles(conn, ["p-1"]) == {"webhook_deliveries": 3}

    assert client.delete(f"/api/v1/webhooks/{first['id']}", headers=admin).status_code == 204
    for r in (
        client.delete(f"/api/v1/webhooks/{first['id']}", headers=admin),
        client.get(url, headers=admin),
    ):
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM_JSON
    ids = [h["id"] for h in client.get("/api/v1/webhooks", headers=admin).json()["items"]]
    assert first["id"] not in ids and len(ids) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://h.example/x"},
        {"url": "https://"},
        {"url": "https://user:pw@h.example/x"},
        {"url": "https://h.example/a b"},
        {"url": "https://h.example:99999/x"},
        {"url": "https://h.example/" + "a" * 2000},
        {"url": "https://h.example/x", "events": []},
        {"url": "https://h.example/x", "events": ["profile.erased"]},
        {"url": "https://h.example/x", "secret": "mine"},
        {"url": None},
        {},
    ],
)
def test_bad_webhook_requests_are_422(client: TestClient, keys: Keys, body: Any) -> None:
    r = client.post("/api/v1/webhooks", json=body, headers=bearer(keys.admin))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM_JSON and r.json()["errors"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/webhooks/0",
        "/api/v1/webhooks/abc/deliveries",
        f"/api/v1/webhooks/{2**64}/deliveries",
        "/api/v1/webhooks?cursor=nope",
        "/api/v1/webhooks?cursor=" + encode_cursor("webhooks", (2**70,)),
        "/api/v1/webhooks/1/deliveries?status=lost",
        "/api/v1/webhooks/1/deliveries?cursor=" + encode_cursor("webhooks", (5,)),
    ],
)
def test_bad_ids_and_cursors_are_422_never_500(client: TestClient, keys: Keys, path: str) -> None:
    client.post("/api/v1/webhooks", json=HOOK, headers=bearer(keys.admin))
    method = "DELETE" if path.endswith("/0") else "GET"
    r = client.request(method, path, headers=bearer(keys.admin))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
