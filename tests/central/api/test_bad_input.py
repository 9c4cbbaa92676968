"""Bad input gets a clear 4xx that names the field, and the good input next to it is kept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, select

from central_api.api.errors import PROBLEM_JSON
from central_api.domain.scoring.rules_limits import MAX_RULES_BYTES, MAX_RULES_DEPTH
from central_api.store.profile_tables import online_events
from edge_sync.protocol import Event, format_ts, new_event_id

from .conftest import Keys, bearer

EMAIL = hashlib.sha256(b"ada@example.com").hexdigest()


def visit(occurred_at: object) -> dict:
    return {"id": new_event_id(), "type": "web.visited", "v": 1, "occurred_at": occurred_at,
            "channel": "web", "source": "shop", "customer_id": "C1",
            "data": {"url": "https://shop.example/tents"}}  # fmt: skip


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as c:
        return set(c.execute(select(online_events.c.id)).scalars())


def test_times_outside_the_storable_range_are_rejected_alone(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    good = [visit("2026-11-20T09:00:00Z"), visit("0001-01-01T00:00:00Z")]
    bad = [visit("0001-01-01T00:00:00+14:00"), visit("9999-12-31T23:59:59-01:00"), visit(0.5),
           visit("0.5"), visit("2026-11-20 09:00:00Z"), visit("2026-11-20T09:00:00")]  # fmt: skip
    events = [good[0], *bad, good[1]]
    r = client.post("/api/v1/events", json={"events": events}, headers=bearer(keys.integration))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == [good[0]["id"], good[1]["id"]]
    assert stored_ids(engine) == {good[0]["id"], good[1]["id"]}
    rejected = {e["index"]: e for e in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 6]
    for i, e in rejected.items():
        assert e["id"] == events[i]["id"] and e["reason"] == "schema_violation"
        assert e["detail"].startswith("occurred_at: "), e
    assert "out of range: in UTC it would be before year 1" in rejected[1]["detail"]
    assert "after year 9999" in rejected[2]["detail"]
    assert "RFC 3339 string such as 2026-11-23T10:15:02.118Z, not a number" in rejected[3]["detail"]
    assert "not an RFC 3339 date-time" in rejected[4]["detail"]


def test_a_number_is_not_a_time(client: TestClient, keys: Keys) -> None:
    for value in ("0.5", "1790000000", "2026-11-20"):
        r = client.get("/api/v1/funnel", params={"start": value}, headers=bearer(keys.marketer))
        assert r.status_code == 422, (value, r.text)
        assert r.headers["content-type"] == PROBLEM_JSON
        [err] = r.json()["errors"]
        assert (err["location"], err["field"]) == ("query", "start")
        assert "RFC 3339" in err["detail"], err
    raw = {"id": new_event_id(), "seq": 1, "type": "session.started", "v": 1, "store_id": "s1",
           "device_id": "s1-k1", "occurred_at": 0.5, "mono_ns": 1, "boot_id": "b",
           "clock_synced": True, "data": {"trigger": "touch"}}  # fmt: skip
    with pytest.raises(ValidationError, match="occurred_at\n  a date-time is an RFC 3339 string"):
        Event.model_validate(raw)


def test_times_are_written_with_four_digit_years(client: TestClient, keys: Keys) -> None:
    assert format_ts(datetime(42, 3, 4, 5, 6, 7, 89_000, tzinfo=UTC)) == "0042-03-04T05:06:07.089Z"
    assert format_ts(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    r = client.get(
        "/api/v1/funnel", params={"start": "0042-03-04T05:06:07Z"}, headers=bearer(keys.marketer)
    )
    assert r.status_code == 200, r.text
    assert r.json()["start"] == "0042-03-04T05:06:07.000Z"


def test_the_key_is_checked_before_the_body(client: TestClient, keys: Keys) -> None:
    junk = b'{"events": [ nope'
    as_json = {"Content-Type": "application/json"}  # what makes FastAPI parse it first
    for key in ({}, {"Authorization": "Bearer omk_junk"}, bearer(keys.revoked)):
        r = client.post("/api/v1/events", content=junk, headers={**as_json, **key})
        assert r.status_code == 401, r.text
        assert r.headers["content-type"] == PROBLEM_JSON
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["type"] == "urn:omnikiosk:problem:unauthenticated"
    r = client.post("/api/v1/events", content=junk, headers={**as_json, **bearer(keys.marketer)})
    assert r.status_code == 403, r.text
    assert "needs one of: admin, integration" in r.json()["detail"]
    r = client.put("/api/v1/rules", content=b"x = [[[", headers=bearer(keys.marketer))
    assert r.status_code == 403, r.text
    r = client.post("/api/v1/events", content=junk, headers={**as_json, **bearer(keys.integration)})
    assert r.status_code == 422 and r.json()["errors"][0]["type"] == "json_invalid", r.text


def test_allow_lists_every_method_of_the_path(client: TestClient, keys: Keys) -> None:
    cases = {
        "/api/v1/keys/0123456789abcdef": "DELETE, GET, OPTIONS",
        "/api/v1/keys": "GET, POST, OPTIONS",
        "/api/v1/rules": "GET, PUT, OPTIONS",
        "/api/v1/profiles/merge": "POST, OPTIONS",  # not /profiles/{profile_id}'s methods
        "/api/v1/profiles/p-1": "DELETE, GET, OPTIONS",
        "/healthz": "GET, OPTIONS",
        "/openapi.json": "GET, HEAD, OPTIONS",
    }
    for path, allow in cases.items():
        r = client.options(path)  # no key: OPTIONS tells only what OpenAPI says
        assert (r.status_code, r.headers.get("allow")) == (204, allow), path
    r = client.patch("/api/v1/keys/0123456789abcdef", headers=bearer(keys.admin))
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, OPTIONS"
    assert r.headers["content-type"] == PROBLEM_JSON
    assert client.options("/api/v1/nope").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/api/v1/rules"), ("POST", "/api/v1/rules/dry-run")]
)
def test_rules_files_are_bounded_before_parsing(
    client: TestClient, keys: Keys, method: str, path: str
) -> None:
    deep = {
        "arrays": "x = " + "[" * 5000 + "]" * 5000,
        "inline tables": "x = " + "{a = " * 100 + "1" + "}" * 100,
        "dotted keys": "version = '9'\n" + "a" + ".a" * 50_000 + " = 1",
    }
    for what, text in deep.items():
        r = client.request(method, path, content=text.encode(), headers=bearer(keys.admin))
        assert r.status_code == 422, (what, r.text)
        body = r.json()
        assert body["type"] == "urn:omnikiosk:problem:invalid-rules"
        assert f"nested more than {MAX_RULES_DEPTH} levels deep" in body["detail"], body
        assert body["errors"][0]["field"] == "(body)"
    big = ("# padding\n" * (MAX_RULES_BYTES // 10 + 1)).encode()
    r = client.request(method, path, content=big, headers=bearer(keys.admin))
    assert r.status_code == 413, r.text
    assert r.json()["type"] == "urn:omnikiosk:problem:rules-too-large"
    assert f"limit {MAX_RULES_BYTES}" in r.json()["detail"]
    # brackets inside strings and comments are not nesting
    fine = "# " + "[" * 50 + "\n" + 'note = "' + "{" * 50 + '"\n'
    r = client.request(method, path, content=fine.encode(), headers=bearer(keys.admin))
    assert r.status_code == 422 and "nested" not in r.json()["detail"], r.text
