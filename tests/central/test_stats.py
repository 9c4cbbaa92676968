"""``collect_stats`` / ``format_stats``: the numbers add up."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.keys import create_key
from central_api.app import create_app
from central_api.config import CentralConfig
from central_api.ingest import Incoming, Ingestor
from central_api.service import IngestService
from central_api.stats import collect_stats, format_stats
from central_api.store import make_engine, migrate
from central_api.store.profile_tables import online_events
from central_api.store.tables import dead_letters, events
from edge_sync.protocol import new_event_id, topics
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

from .helpers import (
    DEVICE,
    STORE,
    at,
    batch_msg,
    count,
    event,
    events_for,
    heartbeat_msg,
    status_msg,
)


def test_stored_plus_duplicates_plus_rejected_is_what_was_sent(
    engine: Engine, ingestor: Ingestor
) -> None:
    good = events_for(range(1, 21))
    bad = events_for(range(21, 26))
    bad[0]["type"] = "no.such"
    bad[1]["data"] = {}
    bad[2]["device_id"] = "s1-k9"
    conflict = event(5)  # a new id under a stored seq
    other = events_for(range(1, 8), device="s2-k1", store="s2")
    sent = [
        batch_msg(good[:15], "b1"),
        batch_msg(good[10:] + bad, "b2"),
        batch_msg(good[:5], "b3"),  # a resend
        batch_msg([conflict], "b4"),
        batch_msg(other, "c1", device="s2-k1", store="s2"),
    ]
    events_sent = sum(len(json.loads(m.payload)["events"]) for m in sent)
    for m in sent:
        ingestor.process([m])
    ingestor.process(
        [
            Incoming(topics.events(STORE, DEVICE), b"not json"),
            status_msg({"state": "online", "version": "2.0"}, at(0)),
            heartbeat_msg(at(1), queue_depth=4),
        ]
    )

    s = collect_stats(engine, now=at(2))
    rejected = s["dead_letters"] - s["dead_letters_by_reason"]["malformed_json"]
    assert s["events_stored"] + s["duplicates_ignored"] + rejected == events_sent
    assert s["events_stored"] == count(engine, events) == 20 + 2 + 7
    assert s["duplicates_ignored"] == 5 + 5
    assert (
        s["dead_letters"]
        == count(engine, dead_letters)
        == sum(s["dead_letters_by_reason"].values())
    )
    assert s["dead_letters_by_reason"] == {
        "device_topic_mismatch": 1,
        "malformed_json": 1,
        "schema_violation": 1,
        "seq_conflict": 1,
        "unknown_type": 1,
    }
    assert s["messages"] == len(sent) + 3
    per_type = s["events_by_device_type"]
    assert sum(n for counts in per_type.values() for n in counts.values()) == s["events_stored"]
    by_device = {d["device_id"]: d for d in s["devices"]}
    assert by_device[DEVICE]["events"] == 22
    assert by_device["s2-k1"]["events"] == 7
    assert (by_device[DEVICE]["state"], by_device[DEVICE]["queue_depth"]) == ("online", 4)
    assert s["devices_by_health"] == {"online": 1, "unknown": 1}
    assert json.loads(json.dumps(s)) == s  # --json dumps it as it is

    text = format_stats(s)
    assert "events stored" in text and "29" in text
    assert "seq_conflict" in text
    assert "s2-k1" in text and "pickup.confirmed" in text


def test_stats_on_an_empty_database(engine: Engine) -> None:
    s = collect_stats(engine)
    assert (s["events_stored"], s["dead_letters"], s["devices"]) == (0, 0, [])
    assert "devices: 0 (none)" in format_stats(s)


def _online(type_: str, data: dict, customer: str = "C1", **over: object) -> dict:
    doc = {"id": new_event_id(), "type": type_, "v": 1, "occurred_at": "2026-11-20T09:00:00Z",
           "channel": "web", "source": "shop", "customer_id": customer, "data": data}  # fmt: skip
    doc.update(over)
    return doc


def test_a_mixed_run_adds_up_by_channel_and_by_reason(db_url: str, broker) -> None:
    """Kiosk batches over a real broker and online events over HTTP, with duplicates and
    bad events on both: every event sent is stored, a duplicate or a dead letter, and
    dead_letters == sum(by reason) == kiosk + online."""
    engine = make_engine(db_url)
    migrate(engine)
    cfg = CentralConfig.model_validate(
        {"database": {"url": db_url}, "broker": {"url": broker.url},
         "ingest": {"client_id": "t-stats"}}
    )  # fmt: skip
    service = IngestService(cfg, Ingestor(engine))
    service.start()
    key = create_key(engine, "integration", "stats test").key
    auth = {"Authorization": f"Bearer {key}"}
    try:
        assert service.link.wait_connected(10)
        good = events_for(range(1, 31))
        bad = events_for(range(31, 34))
        bad[0]["type"] = "no.such"
        bad[1]["data"] = {}
        bad[2]["seq"] = 5  # a new id under a stored seq
        messages = [
            batch_msg(good[:20], "k1"),
            batch_msg(good[20:] + bad[:2], "k2"),
            batch_msg(good[:8], "k3"),  # a resend: 8 duplicates
            batch_msg([bad[2]], "k4"),
        ]
        with MqttProbe(broker.host, broker.port, client_id="dev") as dev:
            dev.subscribe(topics.ack(STORE, DEVICE))

            def acks() -> int:
                return len([x for x in dev.messages if x.topic.endswith("/ack")])

            for i, m in enumerate(messages):
                dev.publish(m.topic, m.payload)
                # one at a time, so that the conflict meets a stored seq
                wait_for(lambda i=i: acks() > i, timeout=20, message=f"ack {i + 1}")
            dev.publish(topics.events(STORE, DEVICE), b"{not json")
            wait_for(
                lambda: collect_stats(engine)["by_channel"]["kiosk"]["messages"] == 5,
                timeout=20,
                message="central to count the malformed message",
            )
        kiosk_sent = sum(len(json.loads(m.payload)["events"]) for m in messages)

        with TestClient(create_app(engine, service)) as api:
            first = [_online("web.visited", {"url": f"https://shop/p{i}"}) for i in range(6)]
            order = {"order_id": "o-9", "value": 80.0, "items": 1}
            requests = [
                [*first, _online("order.placed", order, customer="C2")],
                # a resend of two, one twice in the request, two bad ones
                [first[0], first[1], first[1], _online("no.such", {}),
                 _online("web.visited", {"url": ""})],
            ]  # fmt: skip
            for body in requests:
                r = api.post("/api/v1/events", json={"events": body}, headers=auth)
                assert r.status_code == 200, r.text
            online_sent = sum(len(b) for b in requests)
            admin = create_key(engine, "admin", "stats reader").key
            s = api.get("/api/v1/stats", headers={"Authorization": f"Bearer {admin}"}).json()
    finally:
        service.stop()

    kiosk, online = s["by_channel"]["kiosk"], s["by_channel"]["online"]
    assert kiosk["messages"] == s["messages"] == len(messages) + 1
    assert online["requests"] == len(requests)
    assert (kiosk["events_stored"], kiosk["duplicates_ignored"]) == (30, 8)
    assert (online["events_stored"], online["duplicates_ignored"]) == (7, 3)
    assert kiosk["dead_letters_by_reason"] == {
        "malformed_json": 1,
        "schema_violation": 1,
        "seq_conflict": 1,
        "unknown_type": 1,
    }
    assert online["dead_letters_by_reason"] == {"schema_violation": 1, "unknown_type": 1}
    # every event sent is accounted for once (the malformed message held no events)
    for ch, sent in ((kiosk, kiosk_sent), (online, online_sent)):
        per_event = ch["dead_letters"] - ch["dead_letters_by_reason"].get("malformed_json", 0)
        assert ch["events_stored"] + ch["duplicates_ignored"] + per_event == sent
    assert s["events_stored"] == kiosk["events_stored"] + online["events_stored"]
    assert s["duplicates_ignored"] == kiosk["duplicates_ignored"] + online["duplicates_ignored"]
    assert (
        s["dead_letters"]
        == sum(s["dead_letters_by_reason"].values())
        == kiosk["dead_letters"] + online["dead_letters"]
        == count(engine, dead_letters)
        == 6
    )
    assert s["events_stored"] == count(engine, events) + count(engine, online_events)
    text = format_stats(collect_stats(engine))
    assert re.search(r"dead letters\s+4\s+2\s+6", text), text
    assert re.search(r"events stored\s+30\s+7\s+37", text), text
    engine.dispose()
