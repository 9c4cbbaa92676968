"""Store data and click-and-collect through the real parts, on each backend: central in
its own process, Mosquitto, the device's sync daemon fetching its store's snapshot over
HTTP with its own store-bound key, and the kiosk's side (``PickupDesk``,
``Availability``) working on the device's edge.db while the broker is down.

* a handover made offline reaches central when the link is back: the order is
  picked_up at the store's time and ``order.picked_up`` reaches a real HTTP receiver;
* two devices of one store, both offline, hand over the same order: central keeps the
  first by the store's time, records the second as a conflict that staff can read, and
  the e-commerce system hears of one pickup only;
* a stock import at central reaches the kiosk as a delta, not a new snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from central_api.api.keys import create_key
from central_api.demo_store import import_demo_data
from central_api.store import make_engine, migrate
from edge_sync.client import EdgeClient
from edge_sync.config import load_device_config
from edge_sync.pickups import PickupDesk, PickupRefused, StaffUnlock
from edge_sync.protocol import utcnow
from tests.central.ops.receiver import receiver
from tests.faults.harness import Spine
from tests.support.waiting import wait_for

ORDER_EVENTS = ["order.ready", "order.picked_up", "order.no_show", "order.conflict"]
PIN = "480215"
#: two products of the demo catalog, stocked in the demo's s001 (assets/demo)
LINES = [
    {"sku": "GW-00002", "name": "Fiskars Spade", "quantity": 1, "unit_price": 35.99},
    {"sku": "GW-00003", "quantity": 2, "unit_price": 4.5},
]


class World:
    """Central with the demo retailer's stores, catalog and stock, one staff member in
    the spine's store, and devices whose configs fetch that store's data."""

    def __init__(self, s: Spine, devices: list[str]) -> None:
        self.s = s
        engine = make_engine(s.db_url)
        migrate(engine)
        import_demo_data(engine, utcnow())
        self.admin = create_key(engine, "admin", "test admin").key
        self.integration = create_key(engine, "integration", "test shop").key
        self.configs: dict[str, Path] = {}
        for device in devices:
            key = create_key(engine, "device", device, store_id=s.store, device_id=device).key
            key_file = s.tmp / f"{device}.key"
            key_file.write_text(key + "\n")
            cfg = s.tmp / f"{device}.toml"
            cfg.write_text(s.device_toml(device, key_file))
            self.configs[device] = cfg
        engine.dispose()
        with s.central_cfg.open("a") as f:
            f.write("[inventory]\nfeed_interval_s = 0.2\n[orders]\npush_interval_s = 0.2\n")
        s.start_central()
        self.base = f"http://127.0.0.1:{s.api_port}"
        wait_for(lambda: requests.get(self.base + "/healthz", timeout=5).ok, timeout=60,
                 message="central's API")  # fmt: skip
        r = self.call("PUT", f"/api/v1/stores/{s.store}/staff/anna", self.admin,
                      json={"name": "Anna Berg", "pin": PIN})  # fmt: skip
        assert r.status_code in (200, 201), r.text
        self.edges = {
            d: s.spawn(["edge", "--config", str(cfg)], name=d) for d, cfg in self.configs.items()
        }

    def call(self, method: str, path: str, key: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def ready_order(self, external_id: str) -> dict:
        body = {"external_id": external_id, "store_id": self.s.store, "customer_id": "C-7",
                "customer_initials": "J.D.", "lines": LINES}  # fmt: skip
        r = self.call("POST", "/api/v1/orders", self.integration, json=body)
        assert r.status_code == 201, r.text
        r = self.call("POST", f"/api/v1/orders/{r.json()['id']}/ready", self.integration)
        assert r.status_code == 200, r.text
        return r.json()

    def client(self, device: str) -> EdgeClient:
        return EdgeClient.from_config(load_device_config(self.configs[device]))

    def wait_due(self, device: str, order_id: str) -> None:
        """Until the device has the store's staff list and the order due for pickup."""

        def due() -> bool:
            db = self.s.tmp / device / "edge.db"
            if not db.exists():
                return False
            with sqlite3.connect(db) as c:
                try:
                    staff = c.execute("SELECT count(*) FROM staff").fetchone()[0]
                    order = c.execute("SELECT state FROM pickup_orders WHERE order_id = ?",
                                      (order_id,)).fetchone()  # fmt: skip
                except sqlite3.OperationalError:  # not migrated yet
                    return False
            return staff == 1 and order == ("ready_for_pickup",)

        wait_for(due, timeout=60, message=f"{device}: the staff list and order {order_id}")

    def order(self, order_id: str) -> dict:
        return self.call("GET", f"/api/v1/orders/{order_id}", self.integration).json()


def _hooks(rx, kind: str) -> list[dict]:
    return [json.loads(r.body) for r in rx.got() if json.loads(r.body)["type"] == kind]


def _outbox(client: EdgeClient, type_: str) -> list[tuple[str, dict]]:
    with sqlite3.connect(client.outbox.path) as c:
        rows = c.execute("SELECT priority, payload FROM outbox WHERE type = ?", (type_,))
        return [(p, json.loads(payload)) for p, payload in rows]


def test_an_offline_handover_at_the_kiosk_reaches_central_and_the_shop(spine_any_db):
    s = spine_any_db
    world = World(s, [s.device])
    with receiver() as rx:
        world.call("POST", "/api/v1/webhooks", world.admin,
                   json={"url": rx.url, "events": ORDER_EVENTS})  # fmt: skip
        order = world.ready_order("WEB-501")
        oid, code = order["id"], order["pickup_code"]
        world.wait_due(s.device, oid)

        s.broker.stop()  # the store's link goes down
        with world.client(s.device) as client, PickupDesk(client) as desk:
            # the shopper's question still gets its answer, from the store's snapshot
            hits = client.availability.search("spade").hits
            assert "GW-00002" in [h.product.sku for h in hits]
            spade = client.availability.product("GW-00002")
            assert spade.here.state == "in_stock" and spade.here.quantity == 9  # s001 shows exact
            assert spade.nearby and spade.nearby[0].distance_km > 0
            assert all(n.stock_as_of for n in spade.nearby)
            # a wrong PIN, then the right one
            unlock = StaffUnlock(client.outbox.path)
            with pytest.raises(Exception, match="Wrong PIN, 4 tries left"):
                unlock.unlock("111222", "anna")
            session = unlock.unlock(PIN, "anna")
            shown = desk.scan(code["url"])
            assert shown.initials == "J.D." and shown.items == 3
            assert [(ln.sku, ln.quantity) for ln in shown.lines] == [
                ("GW-00002", 1),
                ("GW-00003", 2),
            ]
            handover = desk.confirm(session, shown)
            with pytest.raises(PickupRefused) as again:
                desk.confirm(session, desk.scan(code["url"]))
            assert "already handed over" in again.value.message
            assert "Anna Berg" in again.value.message
            ((priority, ev),) = _outbox(client, "pickup.confirmed")
            assert priority == "critical" and ev["data"]["order_id"] == oid
            assert ev["data"]["token_hash"] == code["token_hash"]
            unlock.close()
        assert world.order(oid)["state"] == "ready_for_pickup"  # central cannot know yet

        s.broker.start()  # the link is back: the outbox drains
        got = wait_for(lambda: _hooks(rx, "order.picked_up"), timeout=60,
                       message="order.picked_up at the receiver")  # fmt: skip
    (hook,) = got
    now = world.order(oid)
    assert now["state"] == "picked_up"
    # picked up when the kiosk handed it over, not when central heard of it
    at = hook["data"]["pickup"]["picked_up_at"]
    assert at == now["state_at"] == ev["occurred_at"]
    assert abs(handover.at - utcnow()) < timedelta(minutes=5)
    assert hook["data"]["pickup"]["device_id"] == s.device
    assert hook["data"]["pickup"]["staff_id"] == "anna"


def test_two_offline_kiosks_handing_over_one_order_make_one_pickup_and_one_conflict(
    spine_any_db,
):
    s = spine_any_db
    k1, k2 = f"{s.store}-k1", f"{s.store}-k2"
    world = World(s, [k1, k2])
    with receiver() as rx:
        world.call("POST", "/api/v1/webhooks", world.admin,
                   json={"url": rx.url, "events": ORDER_EVENTS})  # fmt: skip
        order = world.ready_order("WEB-502")
        oid, code = order["id"], order["pickup_code"]
        for device in (k1, k2):
            world.wait_due(device, oid)

        s.broker.stop()
        events = {}
        for device in (k1, k2):  # k1 first, then k2: neither can know of the other
            with world.client(device) as client, PickupDesk(client) as desk:
                unlock = StaffUnlock(client.outbox.path)
                desk.confirm(unlock.unlock(PIN, "anna"), desk.scan(code["url"]))
                ((_, events[device]),) = _outbox(client, "pickup.confirmed")
                unlock.close()
        assert events[k1]["occurred_at"] < events[k2]["occurred_at"]

        s.broker.start()
        (conflict,) = wait_for(lambda: _hooks(rx, "order.conflict"), timeout=60,
                               message="order.conflict at the receiver")  # fmt: skip
        wait_for(lambda: _hooks(rx, "order.picked_up"), timeout=60)
        assert len(_hooks(rx, "order.picked_up")) == 1  # never a second handover
    now = world.order(oid)
    assert now["state"] == "picked_up" and now["pickup"]["event_id"] == events[k1]["id"]
    assert conflict["data"]["kind"] == "double_pickup"
    listed = world.call("GET", "/api/v1/orders/conflicts", world.integration,
                        params={"store": s.store}).json()["items"]  # fmt: skip
    (c,) = listed
    assert (c["order_id"], c["event_id"], c["winner_event_id"]) == (
        oid, events[k2]["id"], events[k1]["id"],
    )  # fmt: skip
    assert f"Order {oid} was confirmed as picked up twice" in c["message"]


def test_a_stock_import_reaches_the_kiosk_as_a_delta(spine):
    s = spine
    world = World(s, [s.device])
    with world.client(s.device) as client:
        wait_for(lambda: client.availability.product("GW-00002") is not None, timeout=60,
                 message="the store's snapshot on the device")  # fmt: skip
        before = client.availability.data_age().version
        stock = (Path(__file__).parents[2] / "assets/demo/stock.csv").read_text()
        changed = stock.replace("s001,GW-00002,9,2", "s001,GW-00002,1,2")
        assert changed != stock
        r = world.call("POST", "/api/v1/stock/import", world.integration,
                       data=changed.encode(), headers={"Content-Type": "text/csv"})  # fmt: skip
        assert r.status_code == 200, r.text

        def low() -> bool:
            p = client.availability.product("GW-00002")
            return p.here.state == "low" and p.here.quantity == 1

        wait_for(low, timeout=60, message="the new stock on the device")
        assert client.availability.data_age().version > before
        status = client.sync_status()["inventory"]
        assert status["applied"].get("delta", 0) >= 1, status
        assert status["applied"].get("snapshot", 0) == 1, status  # no refetch was needed
