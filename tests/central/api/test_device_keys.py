"""Device keys: bound to one store at creation (CLI and API), admitted by a store's data
routes (``require_store`` / ``store_guarded``) for that store only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine

from central_api.api.auth import Principal, guarded, require, require_store, store_guarded
from central_api.api.keys import InvalidKeySpec, create_key
from central_api.app import create_app
from central_api.store import make_engine

from .conftest import Keys, bearer
from .test_auth import assert_problem
from .test_cli import central


class Body(BaseModel):
    n: int


def _store_routes() -> APIRouter:
    """What a store-feed route looks like: the two ways to guard one."""
    router = APIRouter(prefix="/api/v1")

    @router.get("/stores/{store_id}/feed-test", **store_guarded())
    def feed(store_id: str) -> dict[str, str]:
        return {"store": store_id}

    @router.post("/stores/{store_id}/feed-test", **store_guarded("integration"))
    def post_feed(store_id: str, body: Body) -> dict[str, int]:
        return {"n": body.n}

    @router.get("/stores/{store_id}/who-test")
    def who(
        store_id: str, p: Annotated[Principal, Depends(require_store("integration"))]
    ) -> dict[str, str | None]:
        return {"role": p.role, "store": p.store_id, "device": p.device_id}

    return router


@pytest.fixture
def store_client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(engine)
    app.include_router(_store_routes())  # before the first request builds the OpenAPI
    with TestClient(app, raise_server_exceptions=True) as c:
        yield c


def test_a_device_key_reads_its_own_store_and_no_other(
    store_client: TestClient, keys: Keys
) -> None:
    c = store_client
    r = c.get("/api/v1/stores/s001/feed-test", headers=bearer(keys.device))
    assert r.status_code == 200 and r.json() == {"store": "s001"}
    r = c.get("/api/v1/stores/s002/feed-test", headers=bearer(keys.device))
    assert_problem(r, 403, "forbidden", "another store")
    assert r.json()["detail"] == "this device key is for store s001, not s002"
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    # admin reaches every store; other roles only where the route lists them
    assert c.get("/api/v1/stores/s002/feed-test", headers=bearer(keys.admin)).status_code == 200
    for role in ("marketer", "integration"):
        r = c.get("/api/v1/stores/s001/feed-test", headers=bearer(keys.for_role(role)))
        assert_problem(r, 403, "forbidden", role)
    assert c.get("/api/v1/stores/s001/feed-test").status_code == 401
    # the store is checked before the body is read: a wrong store with a bad body is 403
    r = c.post("/api/v1/stores/s002/feed-test", json={"n": "x"}, headers=bearer(keys.device))
    assert r.status_code == 403, r.text
    r = c.post("/api/v1/stores/s001/feed-test", json={"n": 3}, headers=bearer(keys.device))
    assert r.status_code == 200 and r.json() == {"n": 3}
    r = c.post("/api/v1/stores/s009/feed-test", json={"n": 3}, headers=bearer(keys.integration))
    assert r.status_code == 200


def test_require_store_as_a_dependency_tells_the_route_who_called(
    store_client: TestClient, keys: Keys
) -> None:
    """Without ``store_guarded`` the route is not in the gate's list: the dependency
    authenticates and checks the store itself."""
    c = store_client
    r = c.get("/api/v1/stores/s001/who-test", headers=bearer(keys.device))
    assert r.json() == {"role": "device", "store": "s001", "device": "s001-k1"}
    r = c.get("/api/v1/stores/s002/who-test", headers=bearer(keys.device))
    assert_problem(r, 403, "forbidden", "another store")
    assert r.json()["detail"] == "this device key is for store s001, not s002"
    r = c.get("/api/v1/stores/s002/who-test", headers=bearer(keys.integration))
    assert r.json() == {"role": "integration", "store": None, "device": None}
    assert c.get("/api/v1/stores/s001/who-test", headers=bearer(keys.marketer)).status_code == 403
    assert c.get("/api/v1/stores/s001/who-test").status_code == 401


def test_openapi_says_a_device_key_is_for_its_store_only(store_client: TestClient) -> None:
    op = store_client.get("/openapi.json").json()["paths"]["/api/v1/stores/{store_id}/feed-test"]
    assert op["get"]["x-omk-roles"] == ["admin", "device"]
    assert op["post"]["x-omk-roles"] == ["admin", "integration", "device"]
    assert "device (of this store only)" in op["get"]["description"]


def test_ordinary_guards_refuse_to_admit_device_keys() -> None:
    for factory in (require, guarded):
        with pytest.raises(ValueError, match="require_store"):
            factory("device")
        with pytest.raises(ValueError, match="unknown roles"):
            factory("root")  # type: ignore[arg-type]


def test_a_device_key_needs_a_store_and_only_it_takes_one(engine: Engine) -> None:
    for role, store, device, says in [
        ("device", None, None, "needs the store"),
        ("device", None, "s001-k1", "needs the store"),
        ("device", "S 1", None, "not an id"),
        ("device", "s001", "K/1", "not an id"),
        ("admin", "s001", None, "only device keys"),
        ("marketer", None, "s001-k1", "only device keys"),
    ]:
        with pytest.raises(InvalidKeySpec, match=says):
            create_key(engine, role, store_id=store, device_id=device)


def test_the_api_creates_and_lists_device_keys_with_their_store(
    client: TestClient, keys: Keys
) -> None:
    h = bearer(keys.admin)
    body = {"role": "device", "name": "till 1", "store_id": "s002", "device_id": "s002-k1"}
    r = client.post("/api/v1/keys", json=body, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["role"], made["store_id"], made["device_id"]) == ("device", "s002", "s002-k1")
    shown = client.get(f"/api/v1/keys/{made['key_id']}", headers=h).json()
    assert (shown["store_id"], shown["device_id"]) == ("s002", "s002-k1")
    listed = {k["key_id"]: k for k in client.get("/api/v1/keys", headers=h).json()["items"]}
    assert listed[made["key_id"]]["store_id"] == "s002"
    assert listed[made["key_id"]]["device_id"] == "s002-k1"
    # the new key is a device key: no stats, no profiles
    assert client.get("/api/v1/stats", headers=bearer(made["key"])).status_code == 403
    for bad, field in [
        ({"role": "device"}, "needs the store"),
        ({"role": "integration", "store_id": "s001"}, "only device keys"),
        ({"role": "device", "store_id": "S 1"}, "store_id"),
    ]:
        r = client.post("/api/v1/keys", json=bad, headers=h)
        assert r.status_code == 422, r.text
        assert field in r.text, r.text


def test_cli_creates_a_device_key_and_list_keys_shows_its_store(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    r = central(config, "create-key", "--role", "device", "--store", "s001",
                "--device", "s001-k1", "--name", "front kiosk")  # fmt: skip
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    key_id = key.split("_")[1]
    assert f"device key {key_id} for store s001 (device s001-k1)" in r.stderr
    r = central(config, "create-key", "--role", "device")
    assert r.returncode == 2 and "needs the store" in r.stderr and r.stdout == ""
    r = central(config, "create-key", "--role", "admin", "--store", "s001")
    assert r.returncode == 2 and "only device keys" in r.stderr
    r = central(config, "create-key", "--role", "admin", "--name", "ops")
    assert r.returncode == 0
    r = central(config, "list-keys")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith(key_id))
    assert line.split()[:4] == [key_id, "device", "s001", "s001-k1"] and "front kiosk" in line
    assert key.split("_", 2)[2] not in r.stdout  # never the secret
    assert central(config, "revoke-key", key_id).returncode == 0
    assert key_id not in central(config, "list-keys").stdout
    assert "revoked" in central(config, "list-keys", "--revoked").stdout

    engine = make_engine(db_url)
    try:
        c = TestClient(create_app(engine))
        assert c.get("/api/v1/stats", headers=bearer(key)).status_code == 401
    finally:
        engine.dispose()
