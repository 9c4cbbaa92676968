"""The sync daemon takes store data in over a real broker and fetches the snapshot from a
real HTTP server on its own thread; a dead central does not hold up event sync. Also the
``[central]`` config section's checks."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge_sync.client import EdgeClient
from edge_sync.config import CentralSettings, DeviceConfig
from edge_sync.daemon import SyncDaemon
from edge_sync.protocol.settings import ConfigError, validate_config
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

from .feed import STORE, Central, SnapshotServer

DEVICE = "s042-k1"


def _config(tmp_path: Path, broker_url: str, central_url: str, key_file: Path) -> DeviceConfig:
    return validate_config(
        DeviceConfig,
        {
            "device": {"id": DEVICE, "store_id": STORE, "data_dir": str(tmp_path / "var")},
            "broker": {"url": broker_url},
            "clock": {"source": "assume_synced"},
            "central": {"url": central_url, "key_file": str(key_file), "retry_min_s": 0.05,
                        "retry_max_s": 0.2},
        },
        "test",
    )  # fmt: skip


def test_daemon_loads_snapshot_and_applies_deltas_over_mqtt(
    tmp_path, broker, central: Central, server: SnapshotServer, key_file
):
    cfg = _config(tmp_path, broker.url, server.url, key_file)
    daemon = SyncDaemon(cfg)
    t = threading.Thread(target=daemon.run, daemon=True)
    probe = MqttProbe(broker.host, broker.port, client_id="central-test").connect()
    probe.subscribe(f"omk/v1/up/{STORE}/{DEVICE}/events")
    probe.publish(daemon.inventory.manifest_topic, central.manifest(), retain=True)
    t.start()
    client = EdgeClient.from_config(cfg)
    try:
        wait_for(lambda: client.availability.data_age().version == 1, timeout=20)
        for _ in range(3):
            probe.publish(daemon.inventory.delta_topic, central.change())
        probe.publish(daemon.inventory.manifest_topic, central.manifest(), retain=True)
        wait_for(lambda: client.availability.data_age().version == 4, timeout=20)
        assert server.fetches == 1
        wait_for(lambda: (client.sync_status()["inventory"] or {}).get("version") == 4, timeout=10)
        # an event still goes out and is acked while central's HTTP side is down
        server.status = 503
        central.change()  # lost
        central.change()
        probe.publish(daemon.inventory.manifest_topic, central.manifest(), retain=True)
        wait_for(lambda: "HTTP 503" in (daemon.inventory.last_error or ""), timeout=20)
        ev = client.enqueue("session.started", {"trigger": "touch"})
        wait_for(lambda: any(ev.id.encode() in m.payload for m in probe.messages), timeout=20)
        assert daemon.inventory.version == 4  # still: central's HTTP side is down
        server.status = 200
        wait_for(lambda: client.availability.data_age().version == 6, timeout=20)
    finally:
        daemon.stop()
        t.join(30)
        client.close()
        probe.close()
    assert not t.is_alive()


def test_central_url_needs_a_key_file():
    with pytest.raises(ConfigError) as exc:
        validate_config(DeviceConfig, {"device": {"id": "k1", "store_id": "s1"},
                                       "central": {"url": "https://central:8443"}}, "x.toml")  # fmt: skip
    assert "central.key_file is needed with central.url" in str(exc.value)


@pytest.mark.parametrize(
    "url, why",
    [("ftp://central", "must be http(s)://"), ("https://", "must be http(s)://"),
     ("https://c:99999", "not a URL"), ("https://c/x?y=1", "no ?query")],
)  # fmt: skip
def test_bad_central_urls_are_named(url, why):
    with pytest.raises(ConfigError) as exc:
        validate_config(DeviceConfig, {"device": {"id": "k1", "store_id": "s1"},
                                       "central": {"url": url, "key_file": "k"}}, "x.toml")  # fmt: skip
    assert [p for p, m in exc.value.problems if why in m] == ["central.url"]


def test_the_key_file_is_checked_when_used(tmp_path):
    s = CentralSettings(url="https://c/", key_file=str(tmp_path / "k"))
    assert s.url == "https://c"
    with pytest.raises(ValueError, match="No such file"):
        s.api_key()
    (tmp_path / "k").write_text("hunter2\n")
    with pytest.raises(ValueError, match="not an API key"):
        s.api_key()
    (tmp_path / "k").write_text("omk_abc_def\n")
    assert s.api_key() == "omk_abc_def"
