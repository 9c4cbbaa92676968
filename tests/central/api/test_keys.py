"""API keys: create (shown once), list with pagination, get, revoke; stored only hashed;
``last_used_at`` written at most once a minute."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, select, update

from central_api.api.errors import PROBLEM_JSON
from central_api.api.keys import create_key, hash_key, verify_key
from central_api.store.tables import api_keys
from edge_sync.protocol import utcnow

from .conftest import Keys, bearer

KEY_RE = re.compile(r"^omk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
FIELDS = {
    "key_id", "role", "name", "created_at", "last_used_at", "revoked_at", "store_id", "device_id",
}  # fmt: skip


def problem(r: Any, status: int, type_suffix: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["type"] == f"urn:omnikiosk:problem:{type_suffix}"
    assert body["status"] == status and body["instance"] == r.request.url.path
    return body


def test_create_returns_the_key_once_and_it_works(client: TestClient, keys: Keys) -> None:
    r = client.post(
        "/api/v1/keys",
        json={"role": "marketer", "name": "  Newsletter  "},
        headers=bearer(keys.admin),
    )
    assert r.status_code == 201
    body = r.json()
    assert set(body) == FIELDS | {"key"}
    assert KEY_RE.match(body["key"]) and body["key"].split("_")[1] == body["key_id"]
    assert (body["role"], body["name"], body["revoked_at"]) == ("marketer", "Newsletter", None)
    assert r.headers["location"] == f"/api/v1/keys/{body['key_id']}"
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/stats", headers=bearer(body["key"])).status_code == 200

    shown = client.get(r.headers["location"], headers=bearer(keys.admin))
    assert shown.status_code == 200
    assert set(shown.json()) == FIELDS  # never the key again
    assert shown.json()["created_at"] == body["created_at"]


def test_create_rejects_bad_bodies_with_field_errors(client: TestClient, keys: Keys) -> None:
    cases: list[tuple[Any, str, str]] = [
        ({"role": "root"}, "role", "literal_error"),
        ({}, "role", "missing"),
        ({"role": "admin", "extra": 1}, "extra", "extra_forbidden"),
        ({"role": "admin", "name": "x" * 101}, "name", "string_too_long"),
        ({"role": "admin", "name": "tab\there"}, "name", "value_error"),
        ({"role": "admin", "name": 5}, "name", "string_type"),
        ({"role": ["admin"]}, "role", "literal_error"),
        ([{"role": "admin"}], "", "model_attributes_type"),
    ]
    for body, fld, kind in cases:
        r = client.post("/api/v1/keys", json=body, headers=bearer(keys.admin))
        got = problem(r, 422, "invalid-request")
        assert got["detail"].startswith("1 invalid input"), got
        [err] = got["errors"]
        assert (err["location"], err["field"], err["type"]) == ("body", fld, kind), (body, got)
        assert err["pointer"] == "#" + ("/" + fld if fld else "")


def test_create_with_invalid_json_or_no_json(client: TestClient, keys: Keys) -> None:
    headers = {**bearer(keys.admin), "Content-Type": "application/json"}
    for raw in (b"{bad", b'{"role": "admin",}', b"\xff\xfe", b""):
        r = client.post("/api/v1/keys", content=raw, headers=headers)
        assert r.status_code in (400, 422), (raw, r.text)
        assert r.headers["content-type"] == PROBLEM_JSON
    got = problem(
        client.post("/api/v1/keys", content=b"{bad", headers=headers), 422, "invalid-request"
    )
    assert got["errors"][0]["type"] == "json_invalid"
    # JSON sent as text/plain is not parsed as JSON
    r = client.post(
        "/api/v1/keys",
        content=b'{"role": "admin"}',
        headers={**bearer(keys.admin), "Content-Type": "text/plain"},
    )
    problem(r, 422, "invalid-request")


def test_list_pages_through_every_key_once_in_creation_order(
    client: TestClient, engine: Engine, keys: Keys
) -> None:
    made = [create_key(engine, "integration", f"k{i}").info.key_id for i in range(7)]
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/api/v1/keys", params=params, headers=bearer(keys.admin))
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["limit"] == 3 and len(page["items"]) <= 3
        seen += page["items"]
        cursor = page["next"]
        if cursor is None:
            break
    ids = [k["key_id"] for k in seen]
    assert len(ids) == len(set(ids)) == 5 + 7  # the fixture's five keys, then ours
    assert ids[-7:] == made
    assert all(set(k) == FIELDS for k in seen)
    assert sum(k["revoked_at"] is not None for k in seen) == 1
    assert [k["created_at"] for k in seen] == sorted(k["created_at"] for k in seen)

    # a full page ends exactly at the end: no empty page after it
    r = client.get("/api/v1/keys", params={"limit": 12}, headers=bearer(keys.admin))
    assert len(r.json()["items"]) == 12 and r.json()["next"] is None


def test_get_and_revoke_unknown_keys_are_404(client: TestClient, keys: Keys) -> None:
    for key_id in ("0123456789abcdef", "nope", "x" * 300, "%00", "ABCDEF0123456789"):
        for method in ("GET", "DELETE"):
            r = client.request(method, f"/api/v1/keys/{key_id}", headers=bearer(keys.admin))
            problem(r, 404, "not-found")


def test_revoking_twice_is_409(client: TestClient, engine: Engine, keys: Keys) -> None:
    victim = create_key(engine, "marketer").info.key_id
    r = client.delete(f"/api/v1/keys/{victim}", headers=bearer(keys.admin))
    assert r.status_code == 204 and r.content == b""
    problem(
        client.delete(f"/api/v1/keys/{victim}", headers=bearer(keys.admin)), 409, "already-revoked"
    )
    shown = client.get(f"/api/v1/keys/{victim}", headers=bearer(keys.admin)).json()
    assert shown["revoked_at"] is not None


def test_last_used_at_is_written_at_most_once_a_minute(
    client: TestClient, engine: Engine, keys: Keys
) -> None:
    key_id = keys.marketer.split("_")[1]

    def last_used() -> Any:
        with engine.connect() as conn:
            q = select(api_keys.c.last_used_at).where(api_keys.c.key_id == key_id)
            return conn.scalar(q)

    assert last_used() is None
    assert client.get("/api/v1/stats", headers=bearer(keys.marketer)).status_code == 200
    first = last_used()
    assert first is not None and abs(utcnow() - first) < timedelta(seconds=30)
    for _ in range(3):
        client.get("/api/v1/stats", headers=bearer(keys.marketer))
    assert last_used() == first  # within the minute: not written again

    older = first - timedelta(seconds=61)
    with engine.begin() as conn:
        conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(last_used_at=older))
    client.get("/api/v1/stats", headers=bearer(keys.marketer))
    assert last_used() > first

    # and the same rule when verifying directly, with a clock of our choosing
    later = last_used() + timedelta(seconds=59)
    verify_key(engine, keys.marketer, now=later)
    assert last_used() < later
    verify_key(engine, keys.marketer, now=later + timedelta(seconds=2))
    assert last_used() == later + timedelta(seconds=2)


def test_no_key_is_stored_in_plain_text(
    client: TestClient, engine: Engine, keys: Keys, db_url: str
) -> None:
    made = client.post("/api/v1/keys", json={"role": "integration"}, headers=bearer(keys.admin))
    all_keys = [keys.admin, keys.marketer, keys.integration, keys.revoked, made.json()["key"]]
    secrets = [k.split("_", 2)[2] for k in all_keys]
    texts = _every_text_value(engine)
    assert texts, "the scan found nothing at all"
    for secret in secrets:
        assert not any(secret in t for t in texts)
    with engine.connect() as conn:
        stored = set(conn.scalars(select(api_keys.c.secret_hash)))
    assert {hash_key(k) for k in all_keys} <= stored

    if db_url.startswith("sqlite"):  # and not in the file's bytes either (WAL included)
        path = db_url.removeprefix("sqlite:///")
        engine.dispose()
        files = (Path(path), Path(path + "-wal"))
        raw = b"".join(f.read_bytes() for f in files if f.exists())
        for secret in secrets:
            assert secret.encode() not in raw


def _every_text_value(engine: Engine) -> list[str]:
    meta = MetaData()
    meta.reflect(engine)
    out: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                out += [str(v) for v in row if v is not None]
    return out
