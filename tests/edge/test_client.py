"""The kiosk's side: EdgeClient over a real edge.db, with the daemon's state as it writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_sync import EdgeClient, EventRejected, Outbox, OutboxFull
from edge_sync.config import DeviceConfig
from edge_sync.protocol import utcnow

from .conftest import SAMPLES


def test_from_config_enqueue_and_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # data_dir is relative to the working directory
    cfg = DeviceConfig.model_validate(
        {
            "device": {"id": "s042-k2", "store_id": "s042"},
            "outbox": {"max_rows": 10},
            "clock": {"source": "assume_unsynced"},
        }
    )
    with EdgeClient.from_config(cfg) as client:
        assert (tmp_path / "var" / "s042-k2" / "edge.db").exists()
        status = client.sync_status()
        assert status["queue_depth"] == 0 and status["connected"] is False
        assert status["last_ack_at"] is None and status["oldest_unsent_age_s"] is None
        ev = client.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"], "sess-9")
        assert (ev.store_id, ev.device_id, ev.clock_synced) == ("s042", "s042-k2", False)
        with pytest.raises(EventRejected):
            client.enqueue("pickup.confirmed", {})

        # the daemon, another process, records its link state and acks in the same file
        daemon = Outbox.from_config(cfg)
        daemon.set_state("link_state", "connected")
        daemon.set_state("last_ack_at", utcnow().isoformat())
        daemon.apply_ack([(ev.seq, ev.seq)], [])
        daemon.close()

        status = client.sync_status()
        assert status["connected"] is True and status["link_state"] == "connected"
        assert status["queue_depth"] == 0
        assert 0 <= status["last_ack_age_s"] < 60
        for _ in range(12):
            client.enqueue("product.viewed", SAMPLES["product.viewed"])
        status = client.sync_status()
        assert status["queue_depth"] == 10 and status["evicted_total"] == 2
        assert status["evicted_by_type"] == {"product.viewed": 2}
        assert status["dead_letters"] == 0 and status["db_recovered"] is None


def test_public_names() -> None:
    import edge_sync

    for name in ("EdgeClient", "Outbox", "OutboxFull", "DiskFull", "EventRejected"):
        assert hasattr(edge_sync, name)
    assert issubclass(edge_sync.DiskFull, OutboxFull)
