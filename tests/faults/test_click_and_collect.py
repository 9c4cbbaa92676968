"""Click-and-collect across the real spine: central in its own process on each backend,
Mosquitto, devices as raw MQTT clients that were offline and upload late, and a real
HTTP receiver for the webhooks."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import requests

from central_api.api.keys import create_key
from central_api.store import make_engine, migrate
from edge_sync.protocol import topics, utcnow
from tests.central.ops.receiver import receiver
from tests.central.ops.test_webhooks import check_signature
from tests.central.orders.support import batch, confirmed, order_body
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

ORDER_EVENTS = ["order.ready", "order.picked_up", "order.no_show", "order.conflict"]


class Central:
    def __init__(self, s) -> None:
        engine = make_engine(s.db_url)
        migrate(engine)
        self.admin = create_key(engine, "admin", "test admin").key
        self.integration = create_key(engine, "integration", "test shop").key
        engine.dispose()
        s.start_central()
        self.base = f"http://127.0.0.1:{s.api_port}"
        wait_for(lambda: requests.get(self.base + "/healthz", timeout=5).ok, timeout=60,
                 message="central's API")  # fmt: skip

    def call(self, method: str, path: str, key: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def ready_order(self, s, external_id: str) -> dict:
        r = self.call("POST", "/api/v1/orders", self.integration,
                      json=order_body(external_id, store_id=s.store))  # fmt: skip
        assert r.status_code == 201, r.text
        r = self.call("POST", f"/api/v1/orders/{r.json()['id']}/ready", self.integration)
        assert r.status_code == 200, r.text
        return r.json()


def upload(s, probe: MqttProbe, device: str, evs: list[dict]) -> dict:
    """A device back online sends its outbox and waits for central's ack."""
    probe.subscribe(topics.ack(s.store, device))
    doc = batch(evs, device, s.store)
    probe.publish(topics.events(s.store, device), json.dumps(doc))

    def acked():
        for m in probe.messages:
            if m.topic == topics.ack(s.store, device):
                ack = json.loads(m.payload)
                if ack["batch_id"] == doc["batch_id"]:
                    return ack
        return None

    return wait_for(acked, timeout=30, message=f"{device}'s ack")


def hooks_of(rx, kind: str) -> list[dict]:
    return [json.loads(r.body) for r in rx.got() if json.loads(r.body)["type"] == kind]


def test_an_offline_pickup_synced_later_is_picked_up_at_the_store_time(spine_any_db):
    s = spine_any_db
    central = Central(s)
    with (
        receiver() as rx,
        MqttProbe(s.broker.host, s.broker.port, f"k7-{uuid.uuid4().hex[:6]}") as p,
    ):
        hook = central.call("POST", "/api/v1/webhooks", central.admin,
                            json={"url": rx.url, "events": ORDER_EVENTS}).json()  # fmt: skip
        p.subscribe(topics.store_down(s.store, "pickups"))
        order = central.ready_order(s, "WEB-77")
        oid, code = order["id"], order["pickup_code"]
        # the store is told: the order with its code's hash, due for pickup
        msg = p.wait_message(topics.store_down(s.store, "pickups"), timeout=30)
        (up,) = json.loads(msg.payload)["upserts"]
        assert (up["order_id"], up["state"], up["code_hash"]) == (
            oid,
            "ready_for_pickup",
            code["token_hash"],
        )
        assert not msg.retain
        # handed over 40 minutes ago while the kiosk was offline; it syncs now
        at = (utcnow() - timedelta(minutes=40)).replace(microsecond=0)
        ev = confirmed(oid, at, "s001-k7", 1, store=s.store, token_hash=code["token_hash"])
        assert upload(s, p, "s001-k7", [ev])["acked"] == [[1, 1]]
        (got,) = wait_for(lambda: hooks_of(rx, "order.picked_up"), timeout=30,
                          message="order.picked_up at the receiver")  # fmt: skip
        (req,) = [r for r in rx.got() if json.loads(r.body)["type"] == "order.picked_up"]
        check_signature(req, hook["secret"])
        assert got["key"] == f"order:{oid}:picked_up"
        assert got["data"]["external_id"] == "WEB-77" and got["data"]["state"] == "picked_up"
        assert got["data"]["pickup"]["picked_up_at"] == at.isoformat().replace("+00:00", ".000Z")
        assert got["data"]["pickup"]["device_id"] == "s001-k7"
        ready_hook = wait_for(lambda: hooks_of(rx, "order.ready"), timeout=30)[0]
        assert ready_hook["data"]["pickup_code"]["url"] == code["url"]
    now = central.call("GET", f"/api/v1/orders/{oid}", central.integration).json()
    assert now["state"] == "picked_up" and now["state_at"] == got["data"]["pickup"]["picked_up_at"]
    assert now["history"][-1]["source"] == "device:s001-k7"


def test_a_double_pickup_on_two_offline_devices_is_one_handover_and_one_conflict(spine_any_db):
    s = spine_any_db
    central = Central(s)
    with (
        receiver() as rx,
        MqttProbe(s.broker.host, s.broker.port, f"k8-{uuid.uuid4().hex[:6]}") as p,
    ):
        central.call("POST", "/api/v1/webhooks", central.admin,
                     json={"url": rx.url, "events": ORDER_EVENTS})  # fmt: skip
        order = central.ready_order(s, "WEB-88")
        oid = order["id"]
        t_first = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
        t_second = t_first + timedelta(minutes=25)
        # The later handover reaches central first; the earlier one comes second.
        late = confirmed(oid, t_second, "s001-k8", 1, staff="st-8", store=s.store)
        early = confirmed(oid, t_first, "s001-k9", 1, staff="st-9", store=s.store)
        assert upload(s, p, "s001-k8", [late])["acked"] == [[1, 1]]
        assert upload(s, p, "s001-k9", [early])["acked"] == [[1, 1]]
        (conflict,) = wait_for(lambda: hooks_of(rx, "order.conflict"), timeout=30,
                               message="order.conflict at the receiver")  # fmt: skip
        assert len(hooks_of(rx, "order.picked_up")) == 1  # never a second handover
    d = conflict["data"]
    assert d["kind"] == "double_pickup" and d["winner_changed"] is True
    assert d["winner"]["event_id"] == early["id"] and d["confirmation"]["event_id"] == late["id"]
    assert d["pickup"]["event_id"] == early["id"]
    now = central.call("GET", f"/api/v1/orders/{oid}", central.integration).json()
    assert now["pickup"]["event_id"] == early["id"] and now["pickup"]["staff_id"] == "st-9"
    # staff see it
    listed = central.call("GET", "/api/v1/orders/conflicts", central.integration,
                          params={"store": s.store}).json()["items"]  # fmt: skip
    (c,) = listed
    assert (c["order_id"], c["kind"], c["event_id"], c["winner_event_id"]) == (
        oid, "double_pickup", late["id"], early["id"],
    )  # fmt: skip
    assert c["message"].startswith(f"Order {oid} was confirmed as picked up twice: by staff st-9")
    assert "check with the staff at s001-k8" in c["message"]
