"""A device that follows its store's feed by delta ends with the orders due that the
latest snapshot would give it, also when it missed the order's message on
``…/pickups`` (QoS 1, not retained: one sent before a new device first subscribed is
dropped for it by the broker).

Through the real parts, step by step (no timing luck): central's database on each
backend, its API over real HTTP (uvicorn) serving the snapshots, its two publishers on a
real Mosquitto, each round run by the test (``sync``), and a device's sync daemon on its
own edge.db fetching the snapshot with its store-bound key.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select

from central_api.api.keys import create_key
from central_api.app import create_app
from central_api.domain.orders.push import PickupPublisher
from central_api.domain.orders.records import CodeIssuer
from central_api.domain.store_feed.push import StoreFeedPublisher, delta_topic
from central_api.domain.tokens.keystore import KeyStore
from central_api.store.feed_tables import store_deltas
from edge_sync.client import EdgeClient
from edge_sync.config import DeviceConfig
from edge_sync.daemon import SyncDaemon
from edge_sync.inventory import tables
from edge_sync.inventory.deltas import StaleDelta, apply_delta
from edge_sync.pickups import PickupDesk, PickupRefused, StaffUnlock, replace_from_delta
from edge_sync.protocol.settings import BrokerSettings, validate_config
from edge_sync.protocol.store_data import parse_delta
from tests.support.mqtt import MqttProbe
from tests.support.ports import free_port
from tests.support.store_world import device_rows, reported_inventory
from tests.support.waiting import wait_for

from .world import SETTINGS, seed, set_staff

STORE = "s-muc"
PIN = "480215"
#: only the test's own calls make the publishers publish
NEVER = 3600.0


class Shop:
    """Central for one store: API, store feed and pickups publishers, each round run by
    the test; and the store's devices, started when the test says."""

    def __init__(self, engine: Engine, broker: Any, tmp: Path) -> None:
        self.engine, self.broker, self.tmp = engine, broker, tmp
        seed(engine)
        set_staff(engine, STORE, "anna", "Anna Berg", PIN)
        self.integration = create_key(engine, "integration", "test shop").key
        keys = KeyStore(tmp / "keys", "shop.example.com")
        keys.ensure()
        codes = CodeIssuer(keys.signer, no_show_days=SETTINGS.no_show_days)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self._server = uvicorn_server(create_app(engine, order_codes=codes), port)
        broker_cfg = BrokerSettings(url=broker.url)
        self.feed = StoreFeedPublisher.for_central(engine, broker_cfg, SETTINGS, interval_s=NEVER)
        self.pickups = PickupPublisher.for_central(
            engine, broker_cfg, SETTINGS.no_show_days, interval_s=NEVER
        )
        for pub in (self.feed, self.pickups):  # the link only: no thread publishing by itself
            pub.link.start()
            assert pub.link.wait_connected(10)
        self.devices: list[tuple[SyncDaemon, threading.Thread, EdgeClient]] = []

    def close(self) -> None:
        for daemon, t, client in self.devices:
            daemon.stop()
            t.join(30)
            client.close()
        for pub in (self.feed, self.pickups):
            pub.link.stop()
        self._server.should_exit = True

    # -- central -------------------------------------------------------------------------

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.integration}"}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def ready_order(self, external_id: str) -> str:
        body = {"external_id": external_id, "store_id": STORE, "customer_id": "C-7",
                "customer_initials": "J.D.",
                "lines": [{"sku": "A-1", "name": "Spade", "quantity": 1, "unit_price": 24.99}]}  # fmt: skip
        r = self.call("POST", "/api/v1/orders", json=body)
        assert r.status_code == 201, r.text
        order_id: str = r.json()["id"]
        r = self.call("POST", f"/api/v1/orders/{order_id}/ready")
        assert r.status_code == 200, r.text
        return order_id

    def feed_round(self) -> int:
        """Advance the store's feed and publish its deltas and manifest; the version."""
        self.feed.sync()
        with self.engine.connect() as conn:
            d = store_deltas.c
            unsent = conn.scalar(select(d.to_version).where(d.published_at.is_(None)).limit(1))
        assert unsent is None, "a delta the broker has not acknowledged"
        return self.feed_version()

    def feed_version(self) -> int:
        r = self.call("GET", f"/api/v1/stores/{STORE}/snapshot")
        assert r.status_code == 200, r.text
        return int(r.json()["version"])

    def delta(self, to_version: int) -> bytes:
        d = store_deltas.c
        with self.engine.connect() as conn:
            q = select(d.body).where(d.store_id == STORE, d.to_version == to_version)
            body = conn.scalar(q)
        assert body is not None, f"no delta to version {to_version}"
        return bytes(body)

    # -- the store's devices -------------------------------------------------------------

    def start_device(self, device: str) -> DeviceConfig:
        """A new device (no broker session yet), its daemon running."""
        key = create_key(self.engine, "device", device, store_id=STORE, device_id=device).key
        key_file = self.tmp / f"{device}.key"
        key_file.write_text(key + "\n")
        cfg = validate_config(
            DeviceConfig,
            {
                "device": {"id": device, "store_id": STORE, "data_dir": str(self.tmp / device)},
                "broker": {"url": self.broker.url},
                "clock": {"source": "assume_synced"},
                "central": {"url": self.base, "key_file": str(key_file), "retry_min_s": 0.05,
                            "retry_max_s": 0.2},
            },
            "test",
        )  # fmt: skip
        daemon = SyncDaemon(cfg)
        t = threading.Thread(target=daemon.run, daemon=True)
        t.start()
        self.devices.append((daemon, t, EdgeClient.from_config(cfg)))
        assert daemon.link.wait_connected(20)
        return cfg


def uvicorn_server(app: Any, port: int) -> Any:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: server.started, 20, message="uvicorn")
    return server


@pytest.fixture
def shop(engine: Engine, broker: Any, tmp_path: Path) -> Iterator[Shop]:
    s = Shop(engine, broker, tmp_path)
    try:
        yield s
    finally:
        s.close()


def version(cfg: DeviceConfig) -> int | None:
    rows = device_rows(Path(cfg.db_path), f"SELECT version FROM {tables.STATE}")
    return rows[0][0] if rows else None


def wait_version(cfg: DeviceConfig, v: int) -> None:
    wait_for(lambda: version(cfg) == v, timeout=30, message=f"{cfg.device.id} at version {v}")


def orders(cfg: DeviceConfig) -> dict[str, tuple]:
    """order id → (revision, state, handed over here, personal data kept)."""
    rows = device_rows(
        Path(cfg.db_path),
        "SELECT order_id, revision, state, handed_over_at IS NOT NULL, lines IS NOT NULL"
        " FROM pickup_orders",
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def inventory_status(shop: Shop, cfg: DeviceConfig) -> dict[str, Any]:
    """The store-data status the daemon reports, once it reports the version its edge.db
    holds."""
    (client,) = [c for d, _, c in shop.devices if d.cfg is cfg]
    held = version(cfg)
    assert held is not None, f"{cfg.device.id} holds no store data"
    return reported_inventory(client, held)


def test_a_new_device_that_missed_the_pickups_message_gets_the_order_by_delta(shop: Shop):
    assert shop.feed_round() == 1  # the store's first snapshot, with Anna on the staff
    # The order becomes ready; its message goes out before the device ever subscribed,
    # so the broker keeps it for nobody.
    oid = shop.ready_order("WEB-601")
    assert shop.pickups.sync() == 1
    # The new device takes the retained manifest and loads snapshot 1: no order in it.
    cfg = shop.start_device("s-muc-k1")
    wait_version(cfg, 1)
    assert orders(cfg) == {}
    # The feed moves for the order: the delta 1→2 brings it.
    assert shop.feed_round() == 2
    wait_version(cfg, 2)
    assert orders(cfg) == {oid: (2, "ready_for_pickup", 0, 1)}
    status = inventory_status(shop, cfg)
    assert status["applied"] == {"snapshot": 1, "delta": 1}, status  # no refetch needed
    # The order is cancelled at central; the delta alone (its message is not sent here)
    # takes it off the list, as the next snapshot would, and clears its personal data.
    assert shop.call("POST", f"/api/v1/orders/{oid}/cancel").status_code == 200
    assert shop.feed_round() == 3
    wait_version(cfg, 3)
    assert orders(cfg) == {oid: (2, "withdrawn", 0, 0)}


def test_a_device_that_had_the_message_keeps_one_copy_and_a_repeat_changes_nothing(shop: Shop):
    assert shop.feed_round() == 1
    cfg = shop.start_device("s-muc-k1")
    wait_version(cfg, 1)
    oid = shop.ready_order("WEB-602")
    assert shop.pickups.sync() == 1  # this time the device is subscribed
    wait_for(lambda: oid in orders(cfg), timeout=30, message="the pickups message")
    assert shop.feed_round() == 2
    wait_version(cfg, 2)
    assert orders(cfg) == {oid: (2, "ready_for_pickup", 0, 1)}
    # the same delta again, as QoS 1 may deliver it: a duplicate, dropped
    with MqttProbe(shop.broker.host, shop.broker.port).connect() as central:
        central.publish(delta_topic(STORE), shop.delta(2))
    wait_for(lambda: inventory_status(shop, cfg)["ignored"].get("duplicate") == 1, timeout=30)
    # and applied again to the stored data: refused whole, the orders' part stores nothing
    conn = sqlite3.connect(cfg.db_path, isolation_level=None)
    try:
        delta = parse_delta(shop.delta(2), STORE)
        with pytest.raises(StaleDelta):
            apply_delta(conn, delta, [replace_from_delta])
        conn.execute("BEGIN IMMEDIATE")
        again = replace_from_delta(conn, delta)
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert again is not None and (again.stored, again.unchanged, again.withdrawn) == (0, 1, 0)
    assert orders(cfg) == {oid: (2, "ready_for_pickup", 0, 1)}


def test_an_order_handed_over_at_the_kiosk_is_not_revived_by_a_later_delta(shop: Shop):
    assert shop.feed_round() == 1
    first = shop.ready_order("WEB-603")
    assert shop.pickups.sync() == 1  # missed: the device is not there yet
    cfg = shop.start_device("s-muc-k1")
    wait_version(cfg, 1)
    assert shop.feed_round() == 2
    wait_version(cfg, 2)
    (_, _, client) = shop.devices[0]
    unlock = StaffUnlock(cfg.db_path)
    try:
        with PickupDesk(client) as desk:
            session = unlock.unlock(PIN, "anna")
            desk.confirm(session, desk.lookup(session, first))
            # Central has not heard of it yet (no ingest here): its next version still
            # lists the order as due, beside a second order.
            second = shop.ready_order("WEB-604")
            assert shop.feed_round() == 3
            wait_version(cfg, 3)
            assert orders(cfg) == {
                first: (2, "ready_for_pickup", 1, 0),  # handed over here, nothing kept
                second: (2, "ready_for_pickup", 0, 1),
            }
            assert desk.waiting() == [second]
            with pytest.raises(PickupRefused, match="already handed over"):
                desk.lookup(session, first)
    finally:
        unlock.close()


def test_what_a_device_holds_by_deltas_is_what_the_latest_snapshot_gives(shop: Shop):
    assert shop.feed_round() == 1
    follower = shop.start_device("s-muc-k1")
    wait_version(follower, 1)
    a, b = shop.ready_order("WEB-605"), shop.ready_order("WEB-606")
    assert shop.feed_round() == 2
    assert shop.call("POST", f"/api/v1/orders/{a}/cancel").status_code == 200
    c = shop.ready_order("WEB-607")
    assert shop.feed_round() == 3
    wait_version(follower, 3)
    late = shop.start_device("s-muc-k2")  # starts from snapshot 3
    wait_version(late, 3)
    assert inventory_status(shop, late)["applied"] == {"snapshot": 1}

    def due(cfg: DeviceConfig) -> dict[str, tuple]:
        return {k: v for k, v in orders(cfg).items() if v[1] == "ready_for_pickup"}

    assert set(due(follower)) == set(due(late)) == {b, c}
    assert due(follower) == due(late)
