"""``main.py central staff set|list|remove`` as an operator runs them: the PIN from
stdin, never echoed or stored plain; clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from central_api.store import make_engine, migrate
from central_api.store.feed_tables import staff
from edge_sync.protocol.pins import verify_pin
from tests.support import REPO_ROOT

from .world import seed


def staff_cli(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "--log-level", "WARNING", "central",
         "staff", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, input=stdin,
    )  # fmt: skip


def test_set_list_remove(tmp_path: Path, db_url: str) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    engine = make_engine(db_url)
    migrate(engine)
    try:
        seed(engine)
        r = staff_cli(config, "set", "s-muc", "anna", "--name", "Anna K.", stdin="480215\n")
        assert r.returncode == 0, r.stderr
        assert "s-muc/anna set, version 1" in r.stderr and "480215" not in r.stdout + r.stderr
        with engine.connect() as conn:
            (row,) = conn.execute(select(staff)).all()
        assert row.pin_hash.startswith("scrypt$") and verify_pin("480215", row.pin_hash)
        r = staff_cli(config, "set", "s-muc", "anna", "--name", "Anna K.", stdin="480215\n")
        assert r.returncode == 0 and "unchanged" in r.stderr
        r = staff_cli(config, "set", "s-muc", "ben", "--name", "Ben", stdin="111111\n")
        assert r.returncode == 2 and "PIN: a PIN of one repeated digit" in r.stderr
        r = staff_cli(config, "set", "s-nope", "ben", "--name", "Ben", stdin="731902\n")
        assert r.returncode == 1 and "no store s-nope" in r.stderr
        r = staff_cli(config, "set", "s-muc", "Ben!", "--name", "Ben", stdin="731902\n")
        assert r.returncode == 2 and "is not a staff id" in r.stderr
        r = staff_cli(config, "list", "s-muc")
        assert r.returncode == 0 and r.stdout == "anna\tAnna K.\n"
        r = staff_cli(config, "remove", "s-muc", "anna")
        assert r.returncode == 0 and "removed, version 2" in r.stderr
        r = staff_cli(config, "remove", "s-muc", "anna")
        assert r.returncode == 1 and "has no staff member anna" in r.stderr
        assert staff_cli(config, "list", "s-muc").stdout == ""
    finally:
        engine.dispose()
