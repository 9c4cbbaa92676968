"""Central's signing keys: made on first use (0600, logged), refused when others can read
them, rotated and retired through ``central keys``."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from central_api.domain.tokens.keystore import KeyStore, KeyStoreError
from edge_sync.protocol.tokens import InvalidToken, Reason, verify
from main import main
from tests.support import REPO_ROOT

HOST = "shop.example-retailer.com"


def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "central.toml"
    cfg.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n'
        f'[tokens]\nkey_dir = "{tmp_path / "keys"}"\npublic_host = "{HOST}"\n'
    )
    return cfg


def test_a_missing_key_is_made_private_and_logged_with_a_backup_note(tmp_path, caplog):
    store = KeyStore(tmp_path / "keys", HOST)
    with caplog.at_level(logging.WARNING):
        key = store.ensure()
    assert key.kid == 1
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700
    assert "made signing key 1" in caplog.text and "Back it up" in caplog.text
    # the next start finds it and makes nothing
    caplog.clear()
    assert store.ensure().kid == 1 and caplog.text == ""
    assert [k.kid for k in store.all_keys()] == [1]


def test_a_key_others_can_read_is_refused_with_the_fix(tmp_path):
    store = KeyStore(tmp_path / "keys", HOST)
    key = store.ensure()
    os.chmod(key.path, 0o640)
    with pytest.raises(KeyStoreError, match=f"chmod 600 {key.path}"):
        store.keyring()
    with pytest.raises(KeyStoreError):
        store.rotate()


def test_central_refuses_to_start_with_an_exposed_key(tmp_path):
    cfg = config(tmp_path)
    key = KeyStore(tmp_path / "keys", HOST).ensure()
    os.chmod(key.path, 0o644)
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "central", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"Fix: chmod 600 {key.path}" in done.stderr
    assert "Traceback" not in done.stderr
    # refused before it migrated the database or started anything
    if (tmp_path / "c.db").exists():
        con = sqlite3.connect(tmp_path / "c.db")
        assert con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        con.close()


def test_rotate_and_retire_through_the_cli(tmp_path, capsys):
    cfg = str(config(tmp_path))
    store = KeyStore(tmp_path / "keys", HOST)
    assert main(["central", "keys", "list", "--config", cfg]) == 0
    assert "no keys" in capsys.readouterr().out
    old = store.ensure()
    old_code = store.signer().sign(
        "p", "p-00112233445566778899", not_before=date(2026, 1, 1), not_after=date(2029, 6, 1)
    )
    assert main(["central", "keys", "rotate", "--config", cfg]) == 0
    assert "key 2 signs new codes" in capsys.readouterr().out
    assert store.signer().kid == 2
    # retiring the key that signs is refused: rotate first
    assert main(["central", "keys", "retire", "2", "--config", cfg]) == 2
    assert "rotate" in capsys.readouterr().err
    until = datetime(2027, 6, 30, tzinfo=UTC)
    assert main(["central", "keys", "retire", "1", "--until", until.isoformat(), "--config", cfg]) == 0  # fmt: skip
    assert "verify until 2027-06-30T00:00:00.000Z" in capsys.readouterr().out
    assert main(["central", "keys", "list", "--config", cfg]) == 0
    listing = capsys.readouterr().out
    assert "  1  retired" in listing and "  2  signing" in listing
    ring = store.keyring()
    assert verify(old_code.text, ring, now=until - timedelta(seconds=1)).kid == old.kid
    with pytest.raises(InvalidToken) as exc:
        verify(old_code.text, ring, now=until)
    assert exc.value.reason is Reason.EXPIRED
    assert stat.S_IMODE((tmp_path / "keys" / "k001.json").stat().st_mode) == 0o600
    assert main(["central", "keys", "retire", "7", "--config", cfg]) == 2
    assert "no key 7" in capsys.readouterr().err


def test_two_centrals_starting_at_once_make_one_key(tmp_path):
    for n in range(20):
        key_dir = tmp_path / f"keys{n}"
        barrier = threading.Barrier(2)
        got: list[int] = []

        def start(key_dir=key_dir, barrier=barrier, got=got) -> None:
            store = KeyStore(key_dir, HOST)
            store._prepare_dir()
            barrier.wait()
            got.append(store.ensure().kid)

        threads = [threading.Thread(target=start) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert got == [1, 1]
        assert [p.name for p in key_dir.iterdir()] == ["k001.json"]
