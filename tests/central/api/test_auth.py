"""Every route × every way a caller can be wrong: 401 (no, malformed, unknown, wrong-secret
or revoked key), 403 (wrong role, and a device key anywhere but its own store's data), and
the right roles get through."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.auth import STORE_SCOPED
from central_api.api.errors import PROBLEM_JSON
from central_api.api.keys import ROLES, create_key

from .conftest import Keys, bearer


@dataclass(frozen=True)
class Route:
    method: str
    #: ``{victim}`` is replaced by the id of a key made for the request
    path: str
    roles: tuple[str, ...]
    ok: int
    json: dict[str, Any] | None = field(default=None)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ONLINE_EVENT = {
    "id": "01a20650-4fc7-75c3-98cd-725b33a5db87", "type": "web.visited", "v": 1,
    "occurred_at": "2026-11-20T09:00:00Z", "channel": "web", "source": "shop",
    "customer_id": "C-auth", "data": {"url": "https://shop/"},
}  # fmt: skip

ROUTES = [
    Route("GET", "/api/v1/devices", ("admin",), 200),
    Route("GET", "/api/v1/stats", ("admin", "marketer"), 200),
    Route("GET", "/api/v1/keys", ("admin",), 200),
    Route("POST", "/api/v1/keys", ("admin",), 201, {"role": "integration", "name": "t"}),
    Route("GET", "/api/v1/keys/{victim}", ("admin",), 200),
    Route("DELETE", "/api/v1/keys/{victim}", ("admin",), 204),
    # Step 2 admin and integration routes; an unknown id answers 404 once auth has passed.
    Route("POST", "/api/v1/events", ("admin", "integration"), 200, {"events": [ONLINE_EVENT]}),
    Route(
        "POST",
        "/api/v1/profiles/merge",
        ("admin",),
        404,
        {"profile_ids": ["p-x", "p-y"], "reason": "t"},
    ),
    Route("POST", "/api/v1/merges/{merge_id}/undo", ("admin",), 404),
    Route("DELETE", "/api/v1/profiles/{profile_id}", ("admin",), 404),
    # check-in codes and code opens: an unknown profile or campaign is a 404 past auth
    *(
        Route("GET", f"/api/v1/profiles/{{profile_id}}/code{suffix}",
              ("admin", "marketer", "integration"), 404)
        for suffix in ("", ".png", ".svg")
    ),
    Route("GET", "/api/v1/campaigns/{campaign_id}/opens", ("admin", "marketer"), 404),
    # click-and-collect: integrations place and move orders, marketers may read them
    Route("POST", "/api/v1/orders", ("admin", "integration"), 422, json={}),
    Route("GET", "/api/v1/orders", ("admin", "marketer", "integration"), 200),
    Route("GET", "/api/v1/orders/conflicts", ("admin", "marketer", "integration"), 200),
    # (the template itself is not an order id: 422 past auth)
    Route("GET", "/api/v1/orders/{order_id}", ("admin", "marketer", "integration"), 422),
    Route("POST", "/api/v1/orders/{order_id}/ready", ("admin", "integration"), 422),
    Route("POST", "/api/v1/orders/{order_id}/cancel", ("admin", "integration"), 422),
    *(
        Route("GET", f"/api/v1/orders/{{order_id}}/pickup-code{suffix}", ("admin", "integration"), 422)
        for suffix in (".png", ".svg")
    ),
    # store data: staff for admins; the snapshot for integrations (and a device key of
    # that store: test_a_device_key_is_refused_by_every_route_but_its_stores_data, feed tests)
    Route("PUT", "/api/v1/stores/{store_id}/staff/{staff_id}", ("admin",), 404,
          {"name": "Anna", "pin": "480215"}),
    Route("DELETE", "/api/v1/stores/{store_id}/staff/{staff_id}", ("admin",), 404),
    Route("GET", "/api/v1/stores/{store_id}/staff", ("admin",), 404),
    Route("GET", "/api/v1/stores/{store_id}/snapshot", ("admin", "integration", "device"), 404),
]  # fmt: skip

#: routes whose auth matrix lives in another file
AUTH_TESTED_ELSEWHERE = {
    "tests/central/api/test_profiles_read.py": {
        ("GET", "/api/v1/profiles"), ("GET", "/api/v1/profiles/{profile_id}"),
        ("GET", "/api/v1/profiles/{profile_id}/score"), ("GET", "/api/v1/profiles/{profile_id}/journey"),
        ("GET", "/api/v1/profiles/{profile_id}/export"), ("GET", "/api/v1/funnel"),
    },
    "tests/central/api/test_attributes.py": {
        ("PATCH", "/api/v1/profiles/{profile_id}/attributes"),
        ("POST", "/api/v1/profiles/attributes:import"),
    },
    "tests/central/campaigns/test_auth_campaigns.py": {
        ("POST", "/api/v1/campaigns"), ("GET", "/api/v1/campaigns"),
        ("GET", "/api/v1/campaigns/{campaign_id}"), ("PATCH", "/api/v1/campaigns/{campaign_id}"),
        ("POST", "/api/v1/campaigns/{campaign_id}/end"),
        ("GET", "/api/v1/campaign-reports/scans"), ("GET", "/api/v1/campaign-reports/scans.csv"),
        ("GET", "/api/v1/campaign-reports/attribution"),
        ("GET", "/api/v1/campaign-reports/attribution.csv"),
    },
    "tests/central/inventory/test_api.py": {
        ("POST", "/api/v1/catalog/import"), ("POST", "/api/v1/stores/import"),
        ("POST", "/api/v1/stock/import"), ("GET", "/api/v1/stores"),
        ("GET", "/api/v1/stores/{store_id}/nearby"), ("GET", "/api/v1/products/{sku}/availability"),
    },
    "tests/central/ops/test_ops_routes.py": {
        ("GET", "/api/v1/rules"), ("PUT", "/api/v1/rules"), ("POST", "/api/v1/rules/dry-run"),
        ("POST", "/api/v1/webhooks"), ("GET", "/api/v1/webhooks"),
        ("DELETE", "/api/v1/webhooks/{webhook_id}"), ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"),
    },
}  # fmt: skip


def malformed(k: Keys) -> list[str | bytes]:
    key_id = k.admin.split("_")[1]
    return [
        "Bearer",
        "Bearer not-a-key",
        "Basic YWRtaW46YWRtaW4=",
        f"Token {k.admin}",
        k.admin,  # no scheme
        f"Bearer {k.admin} extra",
        f"Bearer omk_{key_id}_",
        f"Bearer omk_{key_id.upper()}_{'A' * 43}",
        f"Bearer omk_{key_id}_{'A' * 43}\u00e9".encode(),  # not ASCII
        "Bearer omk_zz_short",
    ]


def call(client: TestClient, engine: Engine, route: Route, auth: str | bytes | None) -> Any:
    path = route.path
    if "{victim}" in path:
        path = path.format(victim=create_key(engine, "integration", "victim").info.key_id)
    # ids that do not exist: the right role gets 404, which shows auth has passed
    path = path.replace("{merge_id}", "999999").replace("{profile_id}", "p-nobody")
    path = path.replace("{campaign_id}", "cmp-nobody")
    path = path.replace("{store_id}", "s-nobody").replace("{staff_id}", "st-nobody")
    headers = {} if auth is None else {"Authorization": auth}
    return client.request(route.method, path, headers=headers, json=route.json)


def assert_problem(r: Any, status: int, type_suffix: str, what: str) -> None:
    assert r.status_code == status, f"{what}: {r.status_code} {r.text}"
    assert r.headers["content-type"] == PROBLEM_JSON, what
    body = r.json()
    assert body["type"] == f"urn:omnikiosk:problem:{type_suffix}", what
    assert body["status"] == status and body["title"] and body["detail"], what
    assert body["instance"] == r.request.url.path, what


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_rejects_every_bad_caller_and_admits_its_roles(
    route: Route, client: TestClient, engine: Engine, keys: Keys
) -> None:
    r = call(client, engine, route, None)
    assert_problem(r, 401, "unauthenticated", "no key")
    assert r.headers["www-authenticate"] == 'Bearer realm="omnikiosk central"'
    assert "missing" in r.json()["detail"]

    for header in malformed(keys):
        r = call(client, engine, route, header)
        assert_problem(r, 401, "unauthenticated", f"malformed {header!r}")
        assert 'error="invalid_token"' in r.headers["www-authenticate"]

    for case, key, word in [
        ("unknown key", keys.unknown, "invalid"),
        ("wrong secret", keys.wrong_secret, "invalid"),
        ("revoked key", keys.revoked, "revoked"),
    ]:
        r = call(client, engine, route, f"Bearer {key}")
        assert_problem(r, 401, "unauthenticated", case)
        assert r.headers["www-authenticate"].startswith("Bearer "), case
        assert word in r.json()["detail"], case

    for role in ROLES:
        r = call(client, engine, route, f"Bearer {keys.for_role(role)}")
        if role == "device" and role in route.roles:
            # the test key is s001's, the path another store's (its own store's data:
            # tests/central/feed/test_http.py)
            assert_problem(r, 403, "forbidden", "device key of another store")
            assert "this device key is for store s001" in r.json()["detail"]
        elif role in route.roles:
            assert r.status_code == route.ok, f"{role}: {r.status_code} {r.text}"
            if route.ok == 204:
                assert r.content == b""
            elif route.ok >= 400:
                assert r.headers["content-type"] == PROBLEM_JSON
            else:
                assert r.headers["content-type"] == "application/json"
        else:
            assert_problem(r, 403, "forbidden", f"role {role}")
            assert role in r.json()["detail"]
            assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_every_route_has_an_auth_matrix() -> None:
    from sqlalchemy import create_engine

    from central_api.app import create_app

    spec = create_app(create_engine("sqlite://")).openapi()
    here = {(r.method, r.path.replace("{victim}", "{key_id}")) for r in ROUTES}
    covered = here.union(*AUTH_TESTED_ELSEWHERE.values())
    for path, ops in spec["paths"].items():
        for method in ops:
            if path != "/healthz":
                assert (method.upper(), path) in covered, (
                    f"{method.upper()} {path} has no auth test"
                )


def test_scheme_name_is_case_insensitive(client: TestClient, keys: Keys) -> None:
    r = client.get("/api/v1/stats", headers={"Authorization": f"bearer {keys.marketer}"})
    assert r.status_code == 200


def test_authentication_comes_before_body_validation(client: TestClient) -> None:
    """A caller without a key learns nothing about what the body should contain. (Bytes
    that are not JSON at all are reported first: FastAPI parses before it authenticates.)"""
    for body in ({"role": "root", "extra": 1}, [1, 2], "x"):
        assert client.post("/api/v1/keys", json=body).status_code == 401


def test_a_key_revoked_through_the_api_stops_working_at_once(
    client: TestClient, engine: Engine, keys: Keys
) -> None:
    made = client.post("/api/v1/keys", json={"role": "marketer"}, headers=bearer(keys.admin))
    new = made.json()
    assert client.get("/api/v1/stats", headers=bearer(new["key"])).status_code == 200
    r = client.delete(f"/api/v1/keys/{new['key_id']}", headers=bearer(keys.admin))
    assert r.status_code == 204
    r = client.get("/api/v1/stats", headers=bearer(new["key"]))
    assert_problem(r, 401, "unauthenticated", "revoked through the API")


def test_healthz_needs_no_key(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def _fill(path: str) -> str:
    """A concrete path for a template: every parameter an id that exists nowhere."""
    return re.sub(r"\{[^/]+\}", "x-nobody", path)


def test_a_device_key_is_refused_by_every_route_but_its_stores_data(
    client: TestClient, keys: Keys
) -> None:
    """Read from the app's own OpenAPI document, so a route added later is covered too:
    a device key reaches only operations that declare a store parameter
    (``store_guarded``), and never a profile, campaign, order, key or stat."""
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path == "/healthz":
                continue
            r = client.request(method.upper(), _fill(path), headers=bearer(keys.device))
            if op.get(STORE_SCOPED):
                assert "device" in op["x-omk-roles"], path
                # another store's data: refused before anything else is looked at
                assert_problem(r, 403, "forbidden", f"device on {method} {path}")
                assert "is for store s001, not x-nobody" in r.json()["detail"]
                continue
            assert "device" not in op.get("x-omk-roles", []), f"{method} {path}"
            assert_problem(r, 403, "forbidden", f"device on {method} {path}")
            assert "only its own store" in r.json()["detail"], r.text
            checked += 1
    assert checked >= 52  # every route of the API when this was written
