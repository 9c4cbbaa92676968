"""``python main.py central campaign create|list|show`` as a marketer runs them: bad
options named one per line, the campaign stored, and its stores' lists pushed through a
real broker by the command itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from edge_sync.protocol import topics
from tests.support import REPO_ROOT
from tests.support.mqtt import MqttProbe


def central(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "--log-level", "WARNING", "central",
         "campaign", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip


CREATE = ["create", "--id", "cmp-flyer", "--name", "Flyer December", "--channel", "direct_mail",
          "--start", "2026-12-01", "--end", "2099-12-31", "--stores", "s1,s2",
          "--landing-url", "https://shop.example.com/dec", "--offer-en", "A free scarf",
          "--offer-de", "Ein Schal gratis", "--asset", "offers/scarf.png"]  # fmt: skip


def test_create_list_show_and_the_push(tmp_path: Path, db_url: str, broker: Any) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[broker]\nurl = "{broker.url}"\n')

    bad = central(config, "create", "--name", "x", "--channel", "poster", "--start",
                  "2026-12-01", "--end", "2026-11-01", "--stores", "S1", "--landing-url",
                  "ftp://x", "--offer-en", "a", "--asset", "../up")  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    lines = bad.stderr.strip().splitlines()
    for option in ("--stores", "--landing-url", "--offer-de", "--asset"):
        assert any(option in line for line in lines), (option, lines)

    r = central(config, *CREATE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "created campaign cmp-flyer"
    assert "pushed the campaign lists of 2 stores" in r.stderr
    with MqttProbe(broker.host, broker.port) as probe:
        probe.subscribe(topics.campaigns("s2"))
        doc = json.loads(probe.wait_message(topics.campaigns("s2")).payload)
    assert [c["id"] for c in doc["campaigns"]] == ["cmp-flyer"]
    assert doc["campaigns"][0]["offer"]["text"] == {"en": "A free scarf", "de": "Ein Schal gratis"}

    again = central(config, *CREATE)
    assert again.returncode == 1 and "exists already" in again.stderr

    listed = central(config, "list")
    assert listed.returncode == 0
    assert listed.stdout.split("\t")[:3] == ["cmp-flyer", "running", "direct_mail"]
    shown = central(config, "show", "cmp-flyer")
    assert shown.returncode == 0 and json.loads(shown.stdout)["stores"] == ["s1", "s2"]
    missing = central(config, "show", "cmp-none")
    assert missing.returncode == 1 and "no campaign cmp-none" in missing.stderr


def test_create_from_a_file_says_when_the_broker_is_away(tmp_path: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n'
                      '[broker]\nurl = "mqtt://127.0.0.1:9"\n')  # fmt: skip
    body = tmp_path / "campaign.json"
    body.write_text(json.dumps({
        "name": "Poster", "channel": "poster", "starts_on": "2026-12-01", "ends_on": "2026-12-31",
        "stores": "all", "landing_url": "https://shop.example.com/p",
        "offer": {"text": {"en": "Hello", "de": "Hallo"},
                  "visual": {"kind": "image", "url": "https://cdn.example.com/p.png"}}}))  # fmt: skip
    r = central(config, "create", "--file", str(body), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stores"] == "all"
    assert "did not answer" in r.stderr and "within a minute" in r.stderr
    body.write_text('{"name": "no dates"}')
    r = central(config, "create", "--file", str(body))
    assert r.returncode == 2 and "error: starts_on: Field required" in r.stderr
