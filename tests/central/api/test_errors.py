"""Problem details for every kind of error, and never a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.errors import PROBLEM_JSON
from central_api.api.middleware import MAX_BODY_BYTES
from central_api.api.pagination import encode_cursor
from central_api.app import create_app
from central_api.store import make_engine

from .conftest import Keys, bearer

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}


def problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert set(body) >= PROBLEM_FIELDS and body["status"] == status
    assert body["instance"] == r.request.url.path
    return body


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    body = problem(client.get("/api/v1/nope"), 404)
    assert (body["type"], body["title"]) == ("about:blank", "Not Found")
    r = client.put("/api/v1/stats")
    body = problem(r, 405)
    assert r.headers["allow"] == "GET, OPTIONS"


def test_bad_query_parameters_are_422_with_the_parameter_named(
    client: TestClient, keys: Keys
) -> None:
    cases = [
        ("/api/v1/keys", {"limit": "0"}, "limit"),
        ("/api/v1/keys", {"limit": "501"}, "limit"),
        ("/api/v1/keys", {"limit": "ten"}, "limit"),
        ("/api/v1/keys", {"limit": "1e3"}, "limit"),
        ("/api/v1/keys", {"limit": "9" * 40}, "limit"),
        ("/api/v1/keys", {"cursor": "x" * 2000}, "cursor"),
        ("/api/v1/devices", {"health": "sick"}, "health"),
        ("/api/v1/devices", {"store_id": "s" * 65}, "store_id"),
    ]
    for path, params, name in cases:
        body = problem(client.get(path, params=params, headers=bearer(keys.admin)), 422)
        assert body["type"] == "urn:omnikiosk:problem:invalid-request"
        assert [(e["location"], e["field"]) for e in body["errors"]] == [("query", name)], params
        assert "pointer" not in body["errors"][0]


def test_cursors_that_were_not_issued_are_422(client: TestClient, keys: Keys) -> None:
    bad = [
        "garbage",
        "!!!",
        "=",
        "W10",  # []
        encode_cursor("devices", ["s1", "s1-k1"]),  # another listing's cursor
        encode_cursor("keys", ["not a time", "0123456789abcdef"]),
        encode_cursor("keys", ["0001-01-01T00:00:00+05:00", "0123456789abcdef"]),
        encode_cursor("keys", [1, 2]),
        encode_cursor("keys", ["2026-11-23T10:00:00", "x"]),  # no time zone
        encode_cursor("keys", ["2026-11-23T10:00:00+00:00", "a\x00b"]),
    ]
    for path in ("/api/v1/keys", "/api/v1/devices"):
        for cursor in [*bad, encode_cursor("devices", [True, "x"])]:
            r = client.get(path, params={"cursor": cursor}, headers=bearer(keys.admin))
            if path == "/api/v1/devices" and cursor == bad[4]:
                assert r.status_code == 200  # that one is a devices cursor
                continue
            body = problem(r, 422)
            assert body["type"] == "urn:omnikiosk:problem:invalid-cursor", cursor
            assert body["errors"][0]["field"] == "cursor"


def test_oversized_bodies_are_413_with_or_without_a_length(client: TestClient, keys: Keys) -> None:
    big = b'{"role": "admin", "name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    headers = {**bearer(keys.admin), "Content-Type": "application/json"}
    body = problem(client.post("/api/v1/keys", content=big, headers=headers), 413)
    assert body["type"] == "urn:omnikiosk:problem:body-too-large"

    def chunks() -> Iterator[bytes]:  # sent chunked: no Content-Length to judge by
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    body = problem(client.post("/api/v1/keys", content=chunks(), headers=headers), 413)
    assert body["type"] == "urn:omnikiosk:problem:body-too-large"
    # without a key the answer is 413 as well: the body is refused before anything else
    problem(client.post("/api/v1/keys", content=big), 413)
    # just under the cap is read, and judged on its content
    ok_size = b'{"role": "admin", "name": "' + b"x" * (MAX_BODY_BYTES - 40) + b'"}'
    problem(client.post("/api/v1/keys", content=ok_size, headers=headers), 422)


@pytest.mark.allow_logged_errors
def test_an_unexpected_error_is_a_500_problem_without_details(
    engine: Engine, logged_errors: list[logging.LogRecord]
) -> None:
    app = create_app(engine)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/central/secret.py")

    client = TestClient(app, raise_server_exceptions=True)
    r = client.get("/boom")
    body = problem(r, 500)
    assert "hunter2" not in r.text and "secret.py" not in r.text and "RuntimeError" not in r.text
    assert body["type"] == "urn:omnikiosk:problem:internal"
    assert body["error_id"] in body["detail"]
    # the operator has the traceback, under the id the client was given
    [record] = logged_errors
    assert body["error_id"] in record.getMessage() and record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


def test_an_unreachable_database_is_a_503_problem(tmp_path: Path, keys: Keys) -> None:
    (tmp_path / "not-a-file.db").mkdir()  # SQLite cannot open a directory
    engine = make_engine(f"sqlite:///{tmp_path / 'not-a-file.db'}")
    try:
        r = TestClient(create_app(engine)).get("/api/v1/stats", headers=bearer(keys.admin))
        body = problem(r, 503)
        assert body["type"] == "urn:omnikiosk:problem:database-unavailable"
        assert r.headers["retry-after"] == "5"
        assert "not-a-file" not in r.text
    finally:
        engine.dispose()
