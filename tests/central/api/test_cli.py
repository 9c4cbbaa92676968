"""``python main.py central create-key`` / ``revoke-key`` as an operator runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from central_api.app import create_app
from central_api.store import make_engine
from tests.support import REPO_ROOT

from .conftest import bearer


def central(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "--log-level", "WARNING", "central", *args,
         "--config", str(config)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip


def test_create_key_prints_a_key_that_authenticates_then_revoke_key(
    tmp_path: Path, db_url: str
) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    r = central(config, "create-key", "--role", "marketer", "--name", "ops laptop")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert re.fullmatch(r"omk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", key), r.stdout
    key_id = key.split("_")[1]
    assert key_id in r.stderr and "only time" in r.stderr
    assert key.split("_", 2)[2] not in r.stderr  # shown once, on stdout only

    engine = make_engine(db_url)  # the database the CLI created and migrated
    try:
        client = TestClient(create_app(engine))
        assert client.get("/api/v1/stats", headers=bearer(key)).status_code == 200
        assert client.get("/api/v1/devices", headers=bearer(key)).status_code == 403

        r = central(config, "revoke-key", key_id)
        assert r.returncode == 0, r.stderr
        assert client.get("/api/v1/stats", headers=bearer(key)).status_code == 401

        r = central(config, "revoke-key", key_id)
        assert r.returncode == 1 and "already revoked" in r.stderr
        r = central(config, "revoke-key", "0123456789abcdef")
        assert r.returncode == 1 and "no API key" in r.stderr
    finally:
        engine.dispose()


def test_create_key_refuses_bad_roles_and_names(tmp_path: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n')
    r = central(config, "create-key", "--role", "root")
    assert r.returncode == 2 and "invalid choice" in r.stderr and r.stdout == ""
    r = central(config, "create-key", "--role", "admin", "--name", "x" * 101)
    assert r.returncode == 2 and "at most 100" in r.stderr and r.stdout == ""
