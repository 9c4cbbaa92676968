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

from edge_sync.client import EdgeClient
from edge_sync.pickups import PickupDesk, PickupRefused, StaffUnlock
from edge_sync.protocol import utcnow
from tests.central.ops.receiver import receiver
from tests.support.store_world import PIN, World, reported_inventory
from tests.support.waiting import wait_for

ORDER_EVENTS = ["order.ready", "order.picked_up", "order.no_show", "order.conflict"]


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
        now = client.availability.data_age().version
        assert now > before
        status = reported_inventory(client, now)
        assert status["applied"].get("delta", 0) >= 1, status
        assert status["applied"].get("snapshot", 0) == 1, status  # no refetch was needed
