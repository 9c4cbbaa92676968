"""Whatever a client sends to the rules and webhook routes: never a 500, always a problem."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central_api.api.errors import PROBLEM_JSON
from tests.central.api.conftest import Keys, bearer

from .data import HOT, rules_text

VALID = rules_text("fuzz-1", extra=HOT)
TOML_SNIPPETS = [
    VALID, VALID.replace("half_life_days = 30.0", "half_life_days = -1"),
    VALID.replace("half_life_days = 30.0", "half_life_days = nan"),
    VALID.replace("score_at_least = 40", "score_at_least = inf"),
    VALID.replace('version = "fuzz-1"', 'version = ""'),
    VALID.replace('version = "fuzz-1"', f'version = "{"v" * 65}"'),
    VALID.replace('version = "fuzz-1"', "version = 3"), 'version = "x"\nhalf_life_days = 1',
    VALID.replace('version = "fuzz-1"', 'version = "a\\u0000b"'),
    VALID.replace('group = "in_store"', 'group = "in\\u0000store"', 1),
    "[[thresholds]]\nid = 1", "a = [" * 200, "\ud800", "x = '\u0000'", "[journey]\nq = {}",
]  # fmt: skip
ROUTES = [
    ("POST", "/api/v1/rules/dry-run"),
    ("PUT", "/api/v1/rules"),
    ("GET", "/api/v1/rules"),
    ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks"),
    ("DELETE", "/api/v1/webhooks/1"),
    ("GET", "/api/v1/webhooks/1/deliveries"),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
hooks = st.fixed_dictionaries(
    {"url": st.sampled_from(["https://h.example/x", "http://[::1", "https://h:0/", ""])},
    optional={"events": json_values | st.just(["threshold.crossed"]), "x": json_values},
)
bodies = st.one_of(
    st.none(),
    st.sampled_from(TOML_SNIPPETS).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
    (hooks | json_values).map(lambda v: json.dumps(v).encode()),
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(ROUTES),
    body=bodies,
    query=st.sampled_from(["", "?limit=0", "?cursor=%00", "?status=x", "?limit=500&cursor=W10"]),
    content_type=st.sampled_from(["application/toml", "application/json", "text/plain", None]),
)
def test_no_input_gets_a_500(
    client: TestClient,
    keys: Keys,
    route: tuple[str, str],
    body: bytes | None,
    query: str,
    content_type: str | None,
) -> None:
    method, path = route
    headers: dict[str, Any] = bearer(keys.admin)
    if content_type:
        headers["Content-Type"] = content_type
    r = client.request(method, path + query, content=body, headers=headers)
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        assert r.headers["content-type"] == PROBLEM_JSON, r.text
