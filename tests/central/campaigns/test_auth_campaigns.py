"""The campaign routes × every way a caller can be wrong (as ``tests/central/api/
test_auth.py`` does for the others): 401 for a missing, malformed, unknown, wrong-secret
or revoked key, 403 for the integration role; marketers and admins get through."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from central_api.api.errors import PROBLEM_JSON
from central_api.api.keys import ROLES
from tests.central.api.conftest import Keys
from tests.central.api.test_auth import Route, assert_problem, malformed

from .world import campaign_body

BOTH = ("admin", "marketer")
CSV = "text/csv; charset=utf-8"
ROUTES = [
    Route("POST", "/api/v1/campaigns", BOTH, 201, campaign_body()),
    Route("GET", "/api/v1/campaigns", BOTH, 200),
    Route("GET", "/api/v1/campaigns/{campaign_id}", BOTH, 404),
    Route("PATCH", "/api/v1/campaigns/{campaign_id}", BOTH, 404, {"name": "x"}),
    Route("POST", "/api/v1/campaigns/{campaign_id}/end", BOTH, 404),
    Route("GET", "/api/v1/campaign-reports/scans", BOTH, 200),
    Route("GET", "/api/v1/campaign-reports/scans.csv", BOTH, 200),
    Route("GET", "/api/v1/campaign-reports/attribution", BOTH, 200),
    Route("GET", "/api/v1/campaign-reports/attribution.csv", BOTH, 200),
]


def call(client: TestClient, route: Route, auth: str | bytes | None):
    path = route.path.replace("{campaign_id}", "cmp-nobody")
    headers = {} if auth is None else {"Authorization": auth}
    return client.request(route.method, path, headers=headers, json=route.json)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_campaign_route_rejects_every_bad_caller_and_admits_its_roles(
    route: Route, client: TestClient, keys: Keys
) -> None:
    assert_problem(call(client, route, None), 401, "unauthenticated", "no key")
    for header in malformed(keys):
        assert_problem(call(client, route, header), 401, "unauthenticated", f"{header!r}")
    for case, key in [("unknown", keys.unknown), ("wrong secret", keys.wrong_secret),
                      ("revoked", keys.revoked)]:  # fmt: skip
        assert_problem(call(client, route, f"Bearer {key}"), 401, "unauthenticated", case)
    for role in ROLES:
        r = call(client, route, f"Bearer {keys.for_role(role)}")
        if role in route.roles:
            assert r.status_code == route.ok, f"{role}: {r.status_code} {r.text}"
            expected = PROBLEM_JSON if route.ok >= 400 else (
                CSV if route.path.endswith(".csv") else "application/json")  # fmt: skip
            assert r.headers["content-type"] == expected
        else:
            assert_problem(r, 403, "forbidden", f"role {role}")
