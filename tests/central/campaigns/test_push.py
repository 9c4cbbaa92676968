"""Each store's campaign list, retained on ``omk/v1/down/{store}/campaigns``, through a
real Mosquitto: after a create and an update a store's subscriber gets the new list at
once (and a late subscriber the latest), a store outside the campaign gets nothing of it,
ending removes it, and a publisher that starts republishes every list."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.keys import create_key
from central_api.app import create_app
from central_api.domain.campaigns.model import (
    LANGUAGES,
    MAX_CAMPAIGNS_PER_STORE,
    MAX_NAME_CHARS,
    MAX_OFFER_CHARS,
    MAX_URL_CHARS,
    CampaignIn,
)
from central_api.domain.campaigns.push import MAX_PAYLOAD_BYTES, CampaignPublisher
from central_api.domain.campaigns.records import create
from central_api.store.db import write_transaction
from central_api.store.tables import devices
from edge_sync.protocol import topics, utcnow
from edge_sync.protocol.settings import BrokerSettings
from tests.central.api.conftest import bearer
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

from .world import campaign_body

#: long enough that only a change (or a connect) makes the publisher publish in a test
NEVER = 3600.0


@pytest.fixture
def publisher(engine: Engine, broker: Any) -> Iterator[CampaignPublisher]:
    pub = CampaignPublisher.for_central(engine, BrokerSettings(url=broker.url), interval_s=NEVER)
    pub.start()
    assert pub.link.wait_connected(10)
    yield pub
    pub.stop()


@pytest.fixture
def api(engine: Engine, publisher: CampaignPublisher) -> Iterator[tuple[TestClient, str]]:
    key = create_key(engine, "marketer", "push test").key
    with TestClient(create_app(engine, campaign_push=publisher)) as client:
        yield client, key


def probe(broker: Any, store: str) -> MqttProbe:
    p = MqttProbe(broker.host, broker.port).connect()
    p.subscribe(topics.campaigns(store))
    return p


def lists(p: MqttProbe) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in list(p.messages)]


def latest_with(p: MqttProbe, pred: Any, timeout: float = 10.0) -> dict[str, Any]:
    return wait_for(
        lambda: next((doc for doc in reversed(lists(p)) if pred(doc)), None),
        timeout,
        message="a campaign list",
    )


def ids(doc: dict[str, Any]) -> list[str]:
    return [c["id"] for c in doc["campaigns"]]


def test_create_update_end_reach_the_stores_and_no_other(engine, broker, api, publisher):
    client, key = api
    with write_transaction(engine) as conn:  # a store with a device, not in the campaign
        conn.execute(devices.insert().values(device_id="s3-k1", store_id="s3"))
    s1, s3 = probe(broker, "s1"), probe(broker, "s3")
    try:
        started = time.monotonic()
        r = client.post("/api/v1/campaigns", json=campaign_body(id="cmp-w"), headers=bearer(key))
        assert r.status_code == 201, r.text
        doc = latest_with(s1, lambda d: "cmp-w" in ids(d))
        took = time.monotonic() - started
        assert doc["store_id"] == "s1" and doc["v"] == 1 and doc["version"] >= 1
        (c,) = doc["campaigns"]
        assert c["offer"]["text"] == {"en": "20% off winter boots", "de": "20 % auf Winterstiefel"}
        assert c["offer"]["visual"] == {"kind": "asset", "name": "offers/winter-boots.png"}
        assert (c["offer"]["valid_from"], c["offer"]["valid_until"]) == ("2026-12-01", "2026-12-24")
        assert "stores" not in c  # a store never learns which other stores run it

        # a subscriber that connects later gets the retained list
        s2 = probe(broker, "s2")
        try:
            assert ids(latest_with(s2, lambda d: True)) == ["cmp-w"]
            # retained (a live copy may come first when the publisher's round races the
            # subscription on a loaded machine)
            assert any(m.retain for m in s2.messages)
        finally:
            s2.close()

        r = client.patch("/api/v1/campaigns/cmp-w", headers=bearer(key), json={
            "offer": {**campaign_body()["offer"],
                      "text": {"en": "30% off winter boots", "de": "30 % auf Winterstiefel"}}})  # fmt: skip
        assert r.status_code == 200, r.text
        newer = latest_with(s1, lambda d: d["campaigns"] and
                            d["campaigns"][0]["offer"]["text"]["en"].startswith("30%"))  # fmt: skip
        assert newer["version"] > doc["version"]
        late = probe(broker, "s1")
        try:  # the retained message was replaced: a store that wakes up gets the update
            assert latest_with(late, lambda d: True)["version"] == newer["version"]
        finally:
            late.close()

        # s3 is known (it has a device) and got a list, never with cmp-w in it
        assert lists(s3) and all("cmp-w" not in ids(d) for d in lists(s3))

        r = client.post("/api/v1/campaigns/cmp-w/end", headers=bearer(key))
        assert r.status_code == 200 and r.json()["status"] == "ended", r.text
        gone = latest_with(s1, lambda d: d["version"] > newer["version"])
        assert gone["campaigns"] == []
        assert took < 5, f"the list took {took:.1f}s to reach the store"
    finally:
        s1.close()
        s3.close()


def test_a_store_outside_every_campaign_gets_nothing(engine, broker, api):
    """Lists go out in store order, so by the time "sz" has its list, "s9" would have had
    one; the wildcard subscriber sees every list published."""
    client, key = api
    every = probe(broker, "+")
    inside = probe(broker, "sz")
    try:
        body = campaign_body(id="cmp-x", stores=["sz"])
        assert client.post("/api/v1/campaigns", json=body, headers=bearer(key)).status_code == 201
        latest_with(inside, lambda d: "cmp-x" in ids(d))
        latest_with(every, lambda d: d["store_id"] == "sz")
        # s9 has no device and no campaign names it: nothing was ever published for it
        assert {m.topic for m in every.messages} == {topics.campaigns("sz")}
    finally:
        every.close()
        inside.close()


def test_a_publisher_that_starts_republishes_every_list(engine, broker, api, publisher):
    client, key = api
    body = campaign_body(id="cmp-all", stores="all")
    with write_transaction(engine) as conn:
        conn.execute(devices.insert().values(device_id="s5-k1", store_id="s5"))
    assert client.post("/api/v1/campaigns", json=body, headers=bearer(key)).status_code == 201
    s5 = probe(broker, "s5")
    try:
        latest_with(s5, lambda d: ids(d) == ["cmp-all"])
    finally:
        s5.close()
    publisher.stop()
    # Someone wipes the retained lists (a broker that lost them, say).
    cleaner = MqttProbe(broker.host, broker.port).connect()
    for store in ("s1", "s2", "s5"):
        cleaner.publish(topics.campaigns(store), b"", retain=True)
    cleaner.close()
    again = CampaignPublisher.for_central(engine, BrokerSettings(url=broker.url), interval_s=NEVER)
    again.start()
    try:
        s5 = probe(broker, "s5")
        try:
            assert ids(latest_with(s5, lambda d: True)) == ["cmp-all"]
        finally:
            s5.close()
    finally:
        again.stop()


def test_a_full_list_stays_under_the_payload_bound(engine, broker, api):
    """The largest campaigns that validate, as many as a store's list takes."""
    client, key = api
    url = "https://shop.example.com/" + "x" * (MAX_URL_CHARS - 25)
    for n in range(MAX_CAMPAIGNS_PER_STORE):
        body = campaign_body(
            id=f"cmp-{n:02d}-" + "z" * 57, name="\U0001f97e" * MAX_NAME_CHARS, landing_url=url,
            stores=["s1"],
            offer={"text": {lang: "\U0001f97e" * MAX_OFFER_CHARS for lang in LANGUAGES},
                   "visual": {"kind": "image", "url": url}},
        )  # fmt: skip
        r = client.post("/api/v1/campaigns", json=body, headers=bearer(key))
        assert r.status_code == 201, r.text
    one_more = client.post("/api/v1/campaigns", json=campaign_body(stores=["s1"]),
                           headers=bearer(key))  # fmt: skip
    assert one_more.status_code == 409 and "s1" in one_more.json()["detail"]
    s1 = probe(broker, "s1")
    try:
        latest_with(s1, lambda d: len(d["campaigns"]) == MAX_CAMPAIGNS_PER_STORE)
        size = len(s1.messages[-1].payload)
        assert size <= MAX_PAYLOAD_BYTES, size
    finally:
        s1.close()


def test_a_change_made_elsewhere_reaches_the_store_by_the_next_round(engine, broker):
    """A campaign written by another process (here: straight to the database, nobody
    calls ``changed``) is published by the periodic round."""
    pub = CampaignPublisher.for_central(engine, BrokerSettings(url=broker.url), interval_s=0.5)
    pub.start()
    s1 = probe(broker, "s1")
    try:
        assert pub.link.wait_connected(10)
        with write_transaction(engine) as conn:
            create(conn, CampaignIn.model_validate(campaign_body(id="cmp-cli")), utcnow(), "cli")
        assert ids(latest_with(s1, lambda d: "cmp-cli" in ids(d), timeout=5)) == ["cmp-cli"]
    finally:
        s1.close()
        pub.stop()
