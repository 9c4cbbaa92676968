"""Every route × every way a caller can be wrong: 401 (no, malformed, unknown, wrong-secret
or revoked key), 403 (wrong role), and the right roles get through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

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


ROUTES = [
    Route("GET", "/api/v1/devices", ("admin",), 200),
    Route("GET", "/api/v1/stats", ("admin", "marketer"), 200),
    Route("GET", "/api/v1/keys", ("admin",), 200),
    Route("POST", "/api/v1/keys", ("admin",), 201, {"role": "integration", "name": "t"}),
    Route("GET", "/api/v1/keys/{victim}", ("admin",), 200),
    Route("DELETE", "/api/v1/keys/{victim}", ("admin",), 204),
]


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
        if role in route.roles:
            assert r.status_code == route.ok, f"{role}: {r.status_code} {r.text}"
            if route.ok == 204:
                assert r.content == b""
            else:
                assert r.headers["content-type"] == "application/json"
        else:
            assert_problem(r, 403, "forbidden", f"role {role}")
            assert role in r.json()["detail"]
            assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


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
