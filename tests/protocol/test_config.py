"""Config files: typed, unknown keys rejected with their path, env overrides, CLI exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from central_api.config import EXAMPLE_PATH, load_central_config
from edge_sync.config import load_device_config
from edge_sync.protocol.settings import BrokerURL, ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_examples_are_valid():
    cfg = load_device_config(ROOT / "device_config" / "example.toml")
    assert cfg.device.id == "s042-k1"
    assert cfg.db_path == Path("var/s042-k1/edge.db")
    assert load_central_config(EXAMPLE_PATH).database.url.startswith("sqlite:///")


def test_bad_keys_are_named(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[device]\nid = "K 1"\nstore_id = "s1"\n[sync]\nbatch_max_event = 5\n')
    with pytest.raises(ConfigError) as exc:
        load_device_config(p)
    paths = [path for path, _ in exc.value.problems]
    assert "device.id" in paths
    assert ("sync.batch_max_event", "unknown key (not allowed here)") in exc.value.problems


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("OMK_BROKER_URL", "mqtts://kiosk:s%40cret@broker.example:9999")
    monkeypatch.setenv("OMK_DATABASE_URL", "postgresql+psycopg://omk@db/omk")
    c = load_central_config(None)
    assert c.database.url == "postgresql+psycopg://omk@db/omk"
    url = c.broker.broker_url()
    assert (url.host, url.port, url.tls, url.username, url.password) == (
        "broker.example",
        9999,
        True,
        "kiosk",
        "s@cret",
    )
    assert "s@cret" not in url.redacted()


@pytest.mark.parametrize(
    "url", ["http://h", "mqtt://", "mqtt://h:notaport", "mqtt://h/path", "h:1883"]
)
def test_broker_url_rejects_garbage(url):
    with pytest.raises(ValueError):
        BrokerURL.parse(url)


def test_password_file_keeps_the_secret_out_of_the_config(tmp_path):
    (tmp_path / "pw").write_text("hunter2\n")
    p = tmp_path / "d.toml"
    p.write_text(
        f'[device]\nid = "k1"\nstore_id = "s1"\n[broker]\nurl = "mqtt://kiosk@h"\n'
        f'password_file = "{tmp_path / "pw"}"\n'
    )
    assert load_device_config(p).broker.broker_url().password == "hunter2"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_config_validate_cli(tmp_path):
    ok = run_cli("config", "validate", str(ROOT / "device_config" / "example.toml"))
    assert ok.returncode == 0, ok.stderr
    assert "valid device configuration" in ok.stdout
    bad = tmp_path / "central.toml"
    bad.write_text('[database]\nurl = "mysql://x"\n[ingest]\nworkers = 3\n')
    r = run_cli("config", "validate", str(bad))
    assert r.returncode == 2
    assert (
        "database.url: Value error, must start with sqlite:/// or postgresql+psycopg://" in r.stderr
    )
    assert "ingest.workers: unknown key (not allowed here)" in r.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[device\nid=")
    r = run_cli("config", "validate", str(broken))
    assert r.returncode == 2 and "(syntax)" in r.stderr
    r = run_cli("config", "validate", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "no such file" in r.stderr


def test_webhook_settings_reach_the_worker_and_bad_ones_are_named(tmp_path):
    from central_api.cli import webhook_worker_settings

    cfg = load_central_config(EXAMPLE_PATH)
    assert (cfg.webhooks.max_attempts, cfg.webhooks.base_delay_s) == (8, 10.0)
    cfg.webhooks.max_attempts, cfg.webhooks.timeout_s = 3, 2.5
    worker = webhook_worker_settings(cfg)
    assert (worker.retry.max_attempts, worker.timeout_s) == (3, 2.5)
    bad = tmp_path / "c.toml"
    bad.write_text("[webhooks]\nmax_attempts = 0\nretries = 3\n")
    with pytest.raises(ConfigError) as exc:
        load_central_config(bad)
    paths = [p for p, _ in exc.value.problems]
    assert paths == ["webhooks.max_attempts", "webhooks.retries"]


def test_config_validate_refuses_an_empty_file(tmp_path):
    for text in ("", "# only a comment\n\n"):
        p = tmp_path / "empty.toml"
        p.write_text(text)
        r = run_cli("config", "validate", str(p))
        assert r.returncode == 2, r.stdout
        assert "the file is empty" in r.stderr and "valid" not in r.stdout
        r = run_cli("config", "validate", "--kind", "central", str(p))
        assert r.returncode == 2 and "the file is empty" in r.stderr


@pytest.mark.parametrize(
    ("text", "kind", "why"),
    [
        ('[device]\nid = "k1"\nstore_id = "s1"\n', "device", "[device]"),
        ("[sync]\nheartbeat_s = 5.0\n", "device", "[sync]"),
        ("[api]\nport = 8081\n[broker]\nurl = 'mqtt://h'\n", "central", "[api]"),
        # a misspelled header is a device file with a typo, not a central file
        ('[devise]\nid = "k1"\nstore_id = "s1"\n', "device", "[devise] (close to [device])"),
        ("[databse]\nurl = 'sqlite:///x.db'\n", "central", "[databse] (close to [database])"),
    ],
)
def test_config_validate_says_which_kind_it_guessed_and_why(tmp_path, text, kind, why):
    p = tmp_path / "c.toml"
    p.write_text(text)
    r = run_cli("config", "validate", str(p))
    line = next(ln for ln in r.stderr.splitlines() if "checking as a" in ln)
    assert f"checking as a {kind} config (guessed from" in line and why in line, r.stderr
    if "[devise]" in why:
        assert r.returncode == 2
        assert "device: Field required" in r.stderr
        assert "devise: unknown key (not allowed here)" in r.stderr


@pytest.mark.parametrize(
    "text", ["[broker]\nurl = 'mqtt://h'\n", '[device]\nid = "k"\nstore_id = "s"\n[api]\nport=1\n']
)
def test_config_validate_asks_for_kind_when_the_file_does_not_tell(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    r = run_cli("config", "validate", str(p))
    assert r.returncode == 2 and "cannot tell whether this is a device or central" in r.stderr
    assert "--kind" in r.stderr
    r = run_cli("config", "validate", "--kind", "central", str(p))
    assert "checking as a central config (as asked with --kind)" in r.stderr
    assert r.returncode == (0 if "[device]" not in text else 2), r.stderr


def test_config_validate_documents_kind():
    r = run_cli("config", "validate", "--help")
    assert r.returncode == 0 and "--kind {device,central}" in r.stdout
    assert "--kind" in (ROOT / "README.md").read_text()
