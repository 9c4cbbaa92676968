"""``StoreFeedPublisher`` through a real Mosquitto: the retained manifest names the
latest snapshot; a change reaches the store as the delta, then the new manifest, in
that order; deltas are marked published after the broker's ack; a second central
process adds no second version."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from central_api.domain.store_feed.push import StoreFeedPublisher, delta_topic, manifest_topic
from central_api.store.feed_tables import store_deltas
from edge_sync.protocol.settings import BrokerSettings
from edge_sync.protocol.store_data import body_sha256, parse_delta, parse_manifest
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

from .world import SETTINGS, T0, import_stock, seed, set_staff, snapshot_bytes, step

#: only a change (``changed``) or a connect makes a publisher publish in these tests
NEVER = 3600.0


def publisher(engine: Engine, broker: Any) -> StoreFeedPublisher:
    pub = StoreFeedPublisher.for_central(
        engine, BrokerSettings(url=broker.url), SETTINGS, interval_s=NEVER, clock=lambda: T0
    )
    pub.start()
    assert pub.link.wait_connected(10)
    return pub


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed(engine)  # before a publisher starts: it would build feeds of a half-seeded world
    return engine


@pytest.fixture
def pub(seeded: Engine, broker: Any) -> Iterator[StoreFeedPublisher]:
    p = publisher(seeded, broker)
    yield p
    p.stop()


def probe(broker: Any, store: str) -> MqttProbe:
    p = MqttProbe(broker.host, broker.port).connect()
    p.subscribe(topics_of(store))
    return p


def topics_of(store: str) -> str:
    return manifest_topic(store) + "/#"  # (…/inventory and …/inventory/delta)


def manifests(p: MqttProbe, store: str) -> list[Any]:
    return [parse_manifest(m.payload, store) for m in list(p.messages)
            if m.topic == manifest_topic(store)]  # fmt: skip


def unpublished(engine: Engine) -> int:
    with engine.connect() as conn:
        d = store_deltas.c
        return len(conn.execute(select(d.to_version).where(d.published_at.is_(None))).all())


def test_manifest_then_delta_and_manifest_in_order(engine, broker, pub):
    pub.changed()
    first = MqttProbe(broker.host, broker.port).connect()
    try:
        wait_for(lambda: pub.published >= 3, 20, message="the first manifests")
        first.subscribe(topics_of("s-muc"))
        (m,) = wait_for(lambda: manifests(first, "s-muc"), 10, message="the retained manifest")
        assert first.messages[0].retain and m.version == 1
        assert m.sha256 == body_sha256(snapshot_bytes(engine, "s-muc", 1))
        assert m.snapshot_url == "/api/v1/stores/s-muc/snapshot?version=1"
    finally:
        first.close()

    live = probe(broker, "s-muc")
    try:
        wait_for(lambda: live.messages, 10, message="the retained manifest again")
        live.messages.clear()
        import_stock(engine, [["s-muc", "A-1", "1", "3"], ["s-muc", "A-2", "3", "3"]], at=0)
        set_staff(engine, "s-muc", "anna", "Anna K.", "480215")
        pub.changed()
        wait_for(lambda: len(live.messages) >= 2, 20, message="the delta and the manifest")
        delta_msg, manifest_msg = live.messages[:2]
        assert delta_msg.topic == delta_topic("s-muc") and not delta_msg.retain
        d = parse_delta(delta_msg.payload, "s-muc")
        assert (d.from_version, d.to_version) == (1, 2) and d.checksum_ok
        assert sorted(c[0] for c in d.changes) == ["s", "staff"]
        m2 = parse_manifest(manifest_msg.payload, "s-muc")
        assert m2.version == 2 and m2.sha256 == body_sha256(snapshot_bytes(engine, "s-muc", 2))
        wait_for(lambda: unpublished(engine) == 0, 10, message="deltas marked published")
    finally:
        live.close()


def test_a_second_process_adds_no_version_and_republishes_the_latest(engine, broker, pub):
    pub.changed()
    wait_for(lambda: pub.advanced == 3 and pub.published >= 3, 20, message="first round")
    other = publisher(engine, broker)
    try:
        wait_for(lambda: other.published >= 3, 20, message="its manifests after connecting")
        assert other.advanced == 0  # every feed was current: nothing to build
        set_staff(engine, "s-ber", "ben", "Ben", "731902")
        pub.changed()
        other.changed()
        late = probe(broker, "s-ber")
        try:

            def latest() -> Any:
                found = manifests(late, "s-ber")
                return found and found[-1].version == 2 and found[-1]

            wait_for(latest, 20, message="the manifest of v2")
        finally:
            late.close()
        with engine.connect() as conn:
            d = store_deltas.c
            rows = conn.execute(select(d.store_id, d.to_version, d.body)).all()
        assert [tuple(r[:2]) for r in rows] == [("s-ber", 2)], rows
        assert pub.advanced + other.advanced == 4  # the change made one version, once
    finally:
        other.stop()
    assert json.loads(snapshot_bytes(engine, "s-ber", 2))["staff"][0]["staff_id"] == "ben"


def test_a_backlog_larger_than_a_round_keeps_each_manifest_after_its_deltas(
    seeded, broker, monkeypatch
):
    from central_api.domain.store_feed import push

    engine = seeded
    for s in ("s-aug", "s-muc"):
        step(engine, s)
    for i in range(3):  # three versions each, not yet published
        for s in ("s-aug", "s-muc"):
            set_staff(engine, s, f"m{i}", f"Member {i}", "480215")
            step(engine, s, at=i + 1)
    monkeypatch.setattr(push, "MAX_DELTAS", 2)
    watch = MqttProbe(broker.host, broker.port).connect()
    watch.subscribe(manifest_topic("+") + "/#")
    p = publisher(engine, broker)
    try:
        wait_for(lambda: unpublished(engine) == 0, 20, message="every delta published")
        wait_for(lambda: len(manifests(watch, "s-muc")) >= 1, 10, message="s-muc's manifest")
        for store in ("s-aug", "s-muc"):
            seen = [(m.topic, parse_delta(m.payload, store).to_version
                     if m.topic.endswith("/delta") else None)
                    for m in list(watch.messages) if f"/{store}/" in m.topic]  # fmt: skip
            assert [v for _, v in seen if v is not None] == [2, 3, 4], seen
            first_manifest = next(i for i, (t, v) in enumerate(seen) if v is None)
            assert first_manifest == 3, seen  # after all three deltas
        assert [m.version for m in manifests(watch, "s-muc")] == [4]
    finally:
        p.stop()
        watch.close()
