"""The broker ACL documented in docs/operations.md does what it says, on a real Mosquitto."""

from __future__ import annotations

import re

from edge_sync.protocol import topics
from tests.support import REPO_ROOT
from tests.support.broker import Broker
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

DOC = (REPO_ROOT / "docs" / "operations.md").read_text()


def documented_acl() -> str:
    section = DOC.split("## Broker credentials and ACLs", 1)[1]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def test_documented_acl_confines_each_device(tmp_path):
    b = Broker(tmp_path / "broker", auth=True)
    for user in ("s042-k1", "s042-k2", "central"):
        b.add_user(user, f"{user}-pw")
    b.set_acl(
        documented_acl()
        + "\nuser s042-k2\ntopic write omk/v1/up/s042/s042-k2/#\ntopic read omk/v1/down/s042/s042-k2/#\n"
    )
    b.start()
    try:
        central = MqttProbe(b.host, b.port, "central", "central", "central-pw").connect()
        k1 = MqttProbe(b.host, b.port, "s042-k1", "s042-k1", "s042-k1-pw").connect()
        central.subscribe("omk/v1/up/#")
        k1.subscribe("omk/v1/down/#")
        # Allowed: its own up topic, and central's writes to its own and its store's down topics.
        k1.publish(topics.events("s042", "s042-k1"), b"own")
        central.publish(topics.ack("s042", "s042-k1"), b"ack-k1")
        central.publish(topics.store_down("s042", "pickups"), b"store")
        # Forbidden: writing as another device, reading another device's acks.
        k1.publish(topics.events("s042", "s042-k2"), b"forged")
        central.publish(topics.ack("s042", "s042-k2"), b"ack-k2")
        central.publish(topics.store_down("s043", "pickups"), b"other-store")
        wait_for(lambda: {m.payload for m in k1.messages} >= {b"ack-k1", b"store"}, timeout=10)
        wait_for(lambda: b"own" in {m.payload for m in central.messages}, timeout=10)
        # A marker published last: once it arrives, anything forbidden would have too.
        k1.publish(topics.heartbeat("s042", "s042-k1"), b"marker")
        central.publish(topics.ack("s042", "s042-k1"), b"marker-down")
        wait_for(lambda: b"marker" in {m.payload for m in central.messages}, timeout=10)
        wait_for(lambda: b"marker-down" in {m.payload for m in k1.messages}, timeout=10)
        assert b"forged" not in {m.payload for m in central.messages}
        assert not {b"ack-k2", b"other-store"} & {m.payload for m in k1.messages}
        k1.close()
        central.close()
    finally:
        b.stop()
