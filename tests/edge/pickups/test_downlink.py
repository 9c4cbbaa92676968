"""Pickup upserts over a real broker into a running sync daemon's edge.db."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from edge_sync.downlink import Downlink
from edge_sync.protocol import topics
from edge_sync.protocol.ids import format_ts, utcnow
from tests.edge.conftest import DEVICE, STORE
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

from .helpers import upsert as _upsert

TOPIC = topics.store_down(STORE, "pickups")


def upsert(order_id: str, revision: int = 1, **kw: Any) -> dict:
    """An upsert due now: the daemon purges with the real clock."""
    now = utcnow()
    times = {"ready_at": format_ts(now), "collect_by": format_ts(now + timedelta(days=7))}
    return _upsert(order_id, revision, **{**times, **kw})


def message(*upserts: dict, store: str = STORE) -> bytes:
    return json.dumps({"v": 1, "store_id": store, "upserts": list(upserts)}).encode()


def order_row(db: Path, order_id: str) -> tuple | None:
    if not db.exists():
        return None
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT revision, state, initials FROM pickup_orders WHERE order_id = ?", (order_id,)
        ).fetchone()
    except sqlite3.OperationalError:  # not migrated yet
        return None
    finally:
        conn.close()


def test_the_daemon_stores_upserts_also_those_sent_while_it_was_offline(broker, spawn, tmp_path):
    cfg = tmp_path / "device.toml"
    cfg.write_text(
        f'[device]\nid = "{DEVICE}"\nstore_id = "{STORE}"\ndata_dir = "{tmp_path / DEVICE}"\n'
        f'[broker]\nurl = "{broker.url}"\nreconnect_min_s = 0.1\nreconnect_max_s = 1.0\n'
        '[clock]\nsource = "assume_synced"\n'
    )
    db = tmp_path / DEVICE / "edge.db"
    edge = spawn(["edge", "--config", str(cfg)], name="edge")
    edge.wait_for_log("subscribed to", timeout=60)
    with MqttProbe(broker.host, broker.port, client_id="central-test").connect() as central:
        central.publish(TOPIC, message(upsert("o-dddd0001", 2, initials="A.B.")))
        central.publish(TOPIC, message(upsert("o-dddd0001", 1, initials="X.Y.")))  # late copy
        central.publish(TOPIC, b"not json")
        central.publish(TOPIC, message(upsert("o-dddd0002"), store="s999"))
        central.publish(TOPIC, message(upsert("o-dddd0003", 1, state="what"), upsert("o-dddd0004")))
        wait_for(lambda: order_row(db, "o-dddd0004"), timeout=30, message="the last upsert")
        assert order_row(db, "o-dddd0001") == (2, "ready_for_pickup", "A.B.")
        assert order_row(db, "o-dddd0002") is None and order_row(db, "o-dddd0003") is None
        edge.wait_for_log("refused pickup upsert 0 (order o-dddd0003)", timeout=30)
        assert "ignoring a pickups message that is not central's" in edge.log_text()

        edge.terminate()
        # Not retained: the broker keeps it in the daemon's persistent session.
        central.publish(TOPIC, message(upsert("o-dddd0001", 3, state="cancelled")))
        edge.start()
        wait_for(
            lambda: order_row(db, "o-dddd0001") == (3, "cancelled", None),
            timeout=60,
            message="the cancellation sent while the daemon was down",
        )


def test_the_downlink_takes_every_pickups_message_not_just_the_newest(outbox, db_path):
    down = Downlink(STORE, db_path)
    try:
        assert (TOPIC, 1) in down.subscriptions()
        assert down.offer(TOPIC, message(upsert("o-eeee0001")))
        assert down.offer(TOPIC, message(upsert("o-eeee0002")))
        assert down.offer(TOPIC, b"x" * (1024 * 1024 + 1))  # too large: ignored
        down.apply()
        assert down.applied["pickups"] == 2 and down.ignored["pickups"] == 1
        assert order_row(db_path, "o-eeee0001") and order_row(db_path, "o-eeee0002")
    finally:
        down.close()
