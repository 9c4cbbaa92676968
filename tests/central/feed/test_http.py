"""``GET /api/v1/stores/{id}/snapshot`` serves the stored bytes (gzip when accepted),
with the sha256 the manifest names; a version no longer kept is a 404 that says to read
the manifest. The staff routes set, list and remove members, never showing a hash."""

from __future__ import annotations

import gzip
import json

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.errors import PROBLEM_JSON
from central_api.domain.store_feed.push import pending
from edge_sync.protocol.store_data import body_sha256, parse_snapshot
from tests.central.api.conftest import Keys, bearer

from .world import seed, set_staff, snapshot_bytes, step

PATH = "/api/v1/stores/s-muc/snapshot"


@pytest.fixture
def fed(engine: Engine) -> Engine:
    seed(engine)
    step(engine, "s-muc")
    set_staff(engine, "s-muc", "anna", "Anna K.", "480215")
    step(engine, "s-muc", at=1)
    return engine


def test_the_latest_snapshot_is_the_bytes_the_manifest_checksums(
    fed: Engine, client: TestClient, keys: Keys
) -> None:
    _, manifests = pending(fed)
    m = manifests["s-muc"]
    r = client.get(PATH, headers=bearer(keys.integration))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-encoding"] == "gzip"  # the test client accepts gzip
    assert body_sha256(r.content) == m.sha256 == r.headers["x-snapshot-sha256"]
    assert r.headers["etag"] == f'"{m.sha256}"' and r.headers["x-snapshot-version"] == "2"
    snap = parse_snapshot(r.content, "s-muc")
    assert snap.version == 2 and [s["staff_id"] for s in snap.staff] == ["anna"]
    # by version, and without gzip
    r = client.get(f"{PATH}?version=2", headers={
        **bearer(keys.admin), "Accept-Encoding": "identity"})  # fmt: skip
    assert r.status_code == 200 and "content-encoding" not in r.headers
    assert r.content == snapshot_bytes(fed, "s-muc", 2)
    # the previous version is kept too; a conditional GET of the same one is a 304
    assert client.get(f"{PATH}?version=1", headers=bearer(keys.admin)).status_code == 200
    r = client.get(PATH, headers={**bearer(keys.admin), "If-None-Match": f'"{m.sha256}"'})
    assert r.status_code == 304 and r.content == b""


def test_a_version_not_kept_or_a_store_without_a_feed_is_a_clear_404(
    fed: Engine, client: TestClient, keys: Keys
) -> None:
    set_staff(fed, "s-muc", "ben", "Ben", "731902")
    step(fed, "s-muc", at=2)  # v3: v1 is no longer kept
    r = client.get(f"{PATH}?version=1", headers=bearer(keys.integration))
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["type"] == "urn:omnikiosk:problem:snapshot-gone"
    assert "no longer kept" in body["detail"] and "omk/v1/down/s-muc/inventory" in body["detail"]
    r = client.get("/api/v1/stores/s-ber/snapshot", headers=bearer(keys.integration))
    assert r.status_code == 404 and "no snapshot yet" in r.json()["detail"]
    r = client.get("/api/v1/stores/s-nowhere/snapshot", headers=bearer(keys.integration))
    assert r.status_code == 404 and r.json()["detail"] == "no store s-nowhere"
    r = client.get(f"{PATH}?version=0", headers=bearer(keys.integration))
    assert r.status_code == 422


def test_a_real_server_serves_it_to_requests(fed: Engine, keys: Keys, tmp_path) -> None:
    """Over real HTTP with ``requests``, as the device fetches: gzip on the wire,
    decoded by requests, the sha256 over the decoded body."""
    import threading

    import uvicorn

    from central_api.app import create_app
    from tests.support.ports import free_port
    from tests.support.waiting import wait_for

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(fed), port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        wait_for(lambda: server.started, 20, message="uvicorn")
        r = requests.get(f"http://127.0.0.1:{port}{PATH}?version=2",
                         headers=bearer(keys.integration), timeout=10, stream=True)  # fmt: skip
        raw = r.raw.read(decode_content=False)
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(raw)
        assert body_sha256(body) == r.headers["X-Snapshot-Sha256"]
        assert len(raw) < len(body)
        r = requests.get(f"http://127.0.0.1:{port}{PATH}", headers=bearer(keys.integration),
                         timeout=10)  # fmt: skip
        assert body_sha256(r.content) == r.headers["X-Snapshot-Sha256"]
        assert json.loads(r.content)["version"] == 2
    finally:
        server.should_exit = True
        t.join(10)


def test_staff_set_list_remove_through_the_api(
    engine: Engine, client: TestClient, keys: Keys
) -> None:
    seed(engine)
    url = "/api/v1/stores/s-muc/staff"
    h = bearer(keys.admin)
    r = client.put(f"{url}/anna", json={"name": "Anna K.", "pin": "480215"}, headers=h)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["changed"] and first["name"] == "Anna K." and "pin" not in json.dumps(first)
    r = client.put(f"{url}/anna", json={"name": "Anna K.", "pin": "480215"}, headers=h)
    assert r.json() == {**first, "changed": False}
    r = client.put(f"{url}/ben", json={"name": "Ben", "pin": "123456"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pin"
    assert "run" in r.json()["detail"]
    r = client.put(f"{url}/ben", json={"name": "Ben", "pin": "12a456"}, headers=h)
    assert r.status_code == 422
    r = client.put(f"{url}/ben", json={"name": "Ben\nB", "pin": "731902"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    r = client.put("/api/v1/stores/s-nowhere/staff/ben", json={"name": "B", "pin": "731902"},
                   headers=h)  # fmt: skip
    assert r.status_code == 404
    client.put(f"{url}/ben", json={"name": "Ben", "pin": "731902"}, headers=h)
    listed = client.get(url, headers=h).json()
    assert [m["staff_id"] for m in listed["items"]] == ["anna", "ben"]
    assert "scrypt" not in json.dumps(listed) and listed["next"] is None
    assert client.delete(f"{url}/anna", headers=h).status_code == 204
    r = client.delete(f"{url}/anna", headers=h)
    assert r.status_code == 404 and "no staff member anna" in r.json()["detail"]
    assert [m["staff_id"] for m in client.get(url, headers=h).json()["items"]] == ["ben"]
    assert client.get("/api/v1/stores/s-nowhere/staff", headers=h).status_code == 404


def test_a_device_key_reads_its_own_stores_snapshot_and_no_other(
    fed: Engine, client: TestClient
) -> None:
    from central_api.api.keys import create_key

    own = create_key(fed, "device", "kiosk", store_id="s-muc", device_id="s-muc-k1").key
    other = create_key(fed, "device", "kiosk", store_id="s-ber").key
    r = client.get(PATH, headers=bearer(own))
    assert r.status_code == 200 and parse_snapshot(r.content, "s-muc").version == 2
    r = client.get(PATH, headers=bearer(other))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM_JSON
    assert "this device key is for store s-ber, not s-muc" in r.json()["detail"]
    # nor a store's staff list, which is admin's
    assert client.get("/api/v1/stores/s-muc/staff", headers=bearer(own)).status_code == 403
