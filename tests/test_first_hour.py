"""What a newcomer meets first: the wrong Python, a mistyped database path, a server that
is down. Each is one line saying what failed and what to check; tracebacks only with
``--debug``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from central_api.store import make_engine, migrate
from tests.support import REPO_ROOT
from tests.support.ports import free_port
from tests.support.waiting import wait_for

MAIN = REPO_ROOT / "main.py"


def omk(*args: str, cwd: Path = REPO_ROOT, python: str = sys.executable, timeout: float = 120):
    return subprocess.run(
        [python, str(MAIN), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_read_only_commands_refuse_a_database_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "centrl.db"
    cfg = tmp_path / "central.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{missing}"\n')
    for args in (("stats",), ("stats", "--json"), ("revoke-key", "0123456789abcdef")):
        line = one_error_line(omk("central", *args, "--config", str(cfg)))
        assert f"no central database at {missing}" in line
        assert "OMK_DATABASE_URL" in line
    assert not missing.parent.exists()  # not even the folder was made

    missing.parent.mkdir()
    missing.write_bytes(b"")  # a file, but not central's
    line = one_error_line(omk("central", "stats", "--config", str(cfg)))
    assert "holds no central database" in line


def test_stats_refuse_an_empty_database_on_each_backend(tmp_path: Path, db_url: str) -> None:
    """An empty PostgreSQL schema (or SQLite file) is not a central database: stats say
    so instead of creating tables and printing zeros."""
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).write_bytes(b"")
    line = one_error_line(omk("central", "stats", "--config", str(_cfg(tmp_path, db_url))))
    assert "holds no central database" in line
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []  # nothing was created
        migrate(engine)
    finally:
        engine.dispose()
    r = omk("central", "stats", "--json", "--config", str(_cfg(tmp_path, db_url)))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["dead_letters"] == 0


def test_stats_read_an_existing_database_without_migrating_it(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    r = omk("central", "stats", "--config", str(_cfg(tmp_path, f"sqlite:///{db}")))
    assert r.returncode == 0, r.stderr
    assert "events stored" in r.stdout


def _cfg(tmp_path: Path, url: str, broker_port: int | None = None) -> Path:
    p = tmp_path / "central.toml"
    text = f'[database]\nurl = "{url}"\n[api]\nport = {free_port()}\n'
    text += f'[tokens]\nkey_dir = "{tmp_path / "keys"}"\n'  # not the checkout's var/keys
    if broker_port is not None:
        text += f'[broker]\nurl = "mqtt://127.0.0.1:{broker_port}"\n'
    p.write_text(text)
    return p


@pytest.mark.parametrize("command", [("stats",), ("create-key", "--role", "admin"), ()])
def test_an_unreachable_postgresql_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    port = free_port()  # nothing listens there
    cfg = _cfg(tmp_path, f"postgresql+psycopg://omk:secret@127.0.0.1:{port}/omk")
    line = one_error_line(omk("central", *command, "--config", str(cfg)))
    assert f"cannot connect to the database postgresql+psycopg://omk:***@127.0.0.1:{port}" in line
    assert "check that PostgreSQL runs" in line and "secret" not in line

    r = omk("--debug", "central", *command, "--config", str(cfg))
    assert r.returncode != 0 and "Traceback" in r.stderr and "DatabaseUnreachable" in r.stderr


def test_alembic_is_quiet_unless_debug(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    r = omk("central", "create-key", "--role", "admin", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "alembic" not in r.stderr, r.stderr
    cfg = _cfg(tmp_path, f"sqlite:///{tmp_path / 'b.db'}")
    r = omk("--debug", "central", "create-key", "--role", "admin", "--config", str(cfg))
    assert r.returncode == 0 and "Running upgrade" in r.stderr


def test_a_broker_that_is_down_at_start_is_one_warning_with_what_to_check(tmp_path: Path) -> None:
    broker_port = free_port()
    cfg = _cfg(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", broker_port)
    log = tmp_path / "central.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(MAIN), "central", "--config", str(cfg)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    try:
        wait_for(
            lambda: "central: cannot reach the broker" in log.read_text(),
            timeout=30,
            message="central's warning about the broker",
        )
        assert proc.poll() is None  # central keeps running and retrying
    finally:
        proc.terminate()
        proc.wait(15)
    text = log.read_text()
    assert "Traceback" not in text
    line = next(ln for ln in text.splitlines() if "central: cannot reach the broker" in ln)
    assert f"mqtt://127.0.0.1:{broker_port}" in line and "OMK_BROKER_URL" in line


def _other_python() -> str | None:
    """A Python that is not the project's .venv one, if this machine has one."""
    venv = (REPO_ROOT / ".venv").resolve()
    for name in ("python3", "python3.11", "python"):
        found = shutil.which(name, path="/usr/bin:/usr/local/bin:/root/.pyenv/shims")
        if found is None:
            continue
        prefix = subprocess.run(
            [found, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True
        ).stdout.strip()
        if prefix and Path(prefix).resolve() != venv:
            return found
    return None


def test_main_py_run_by_another_python_runs_in_the_venv(tmp_path: Path) -> None:
    other = _other_python()
    if other is None:
        pytest.skip("no Python besides the .venv's on this machine")
    r = omk("config", "validate", str(REPO_ROOT / "device_config" / "example.toml"), python=other)
    assert r.returncode == 0, r.stderr
    assert "valid device configuration" in r.stdout


def test_main_py_without_a_venv_says_what_to_run(tmp_path: Path) -> None:
    other = _other_python()
    if other is None:
        pytest.skip("no Python besides the .venv's on this machine")
    has_deps = subprocess.run([other, "-c", "import uuid_utils"], capture_output=True)
    if has_deps.returncode == 0:
        pytest.skip(f"{other} has the project's packages: nothing to refuse")
    shutil.copy(MAIN, tmp_path / "main.py")  # a checkout where `make deps` never ran
    r = subprocess.run(
        [other, str(tmp_path / "main.py"), "central", "stats"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: {tmp_path / '.venv'} does not exist; run `make deps` (or `make`) in "
        f"{tmp_path} first, then `.venv/bin/omnikiosk …` or `python main.py …`"
    ]
