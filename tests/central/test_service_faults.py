"""Central's MQTT service when its database cannot take writes: retry, never ack, lose nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from central_api.app import create_app
from central_api.config import CentralConfig
from central_api.domain.fleet.counters import read_ingest_counters
from central_api.ingest import Ingestor
from central_api.service import IngestService
from central_api.store import make_engine, migrate
from central_api.store.tables import dead_letters, events
from edge_sync.protocol import new_event_id, topics
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for


def batch(batch_id: str, seqs: range) -> bytes:
    evs = [
        {
            "id": new_event_id(), "seq": s, "type": "product.searched", "v": 1, "store_id": "s1",
            "device_id": "s1-k1", "occurred_at": "2026-11-23T10:00:00.000Z", "mono_ns": s,
            "boot_id": "b", "clock_synced": True, "session_id": "x",
            "data": {"query": "tent " * 20, "results": 1, "in_stock_results": 1},
        }
        for s in seqs
    ]  # fmt: skip
    return json.dumps(
        {"batch_id": batch_id, "device_id": "s1-k1", "store_id": "s1", "events": evs}
    ).encode()


@pytest.mark.allow_logged_errors
def test_disk_full_at_central_holds_the_acks_and_loses_nothing(tmp_path, broker):
    url = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(url)
    migrate(engine)
    limit = {"pages": None}

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn, _rec):  # a real SQLITE_FULL: the file may not grow past its size
        if limit["pages"] is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {limit['pages']}")

    with engine.connect() as c:
        limit["pages"] = c.exec_driver_sql("PRAGMA page_count").scalar() + 2
    engine.dispose()

    cfg = CentralConfig.model_validate(
        {
            "database": {"url": url},
            "broker": {"url": broker.url},
            "ingest": {"client_id": "t-central"},
        }
    )
    service = IngestService(cfg, Ingestor(engine))
    service.start()
    api = TestClient(create_app(engine, service))
    try:
        assert service.link.wait_connected(10)
        with MqttProbe(broker.host, broker.port, client_id="dev") as dev:
            dev.subscribe(topics.ack("s1", "s1-k1"))
            for i in range(5):
                dev.publish(
                    topics.events("s1", "s1-k1"), batch(f"b{i}", range(i * 100 + 1, i * 100 + 101))
                )
            health = wait_for(
                lambda: (r := api.get("/healthz")).status_code == 503 and r.json(),
                timeout=20,
                message="healthz to report the full disk",
            )
            assert health["checks"]["ingest"].startswith("retrying: database:")
            assert "full" in health["checks"]["ingest"]
            assert [m for m in dev.messages if m.topic.endswith("/ack")] == []  # nothing acked
            # Space again: every event lands once, and every batch is acked.
            limit["pages"] = None
            engine.dispose()
            wait_for(
                lambda: len([m for m in dev.messages if m.topic.endswith("/ack")]) == 5,
                timeout=30,
                message="the five acks",
            )
        with engine.connect() as c:
            assert c.execute(select(func.count()).select_from(events)).scalar_one() == 500
        assert api.get("/healthz").json()["checks"]["ingest"] == "ok"
    finally:
        service.stop()
        engine.dispose()


class _FailsOn:
    """An effect with a bug that only one event triggers."""

    def apply(self, conn, new_events, received_at) -> None:
        if any(ve.data.get("query") == "boom" for ve in new_events):
            raise RuntimeError("effect bug")


@pytest.mark.allow_logged_errors
def test_a_message_central_fails_on_is_a_dead_letter_and_the_rest_flow(tmp_path, broker):
    url = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(url)
    migrate(engine)
    cfg = CentralConfig.model_validate(
        {"database": {"url": url}, "broker": {"url": broker.url}, "ingest": {"client_id": "t-c"}}
    )
    service = IngestService(cfg, Ingestor(engine, effects=[_FailsOn()]))
    service.start()
    try:
        assert service.link.wait_connected(10)
        poison = json.loads(batch("poison", range(1, 3)))
        poison["events"][1]["data"]["query"] = "boom"
        with MqttProbe(broker.host, broker.port, client_id="dev") as dev:
            dev.subscribe(topics.ack("s1", "s1-k1"))
            dev.publish(topics.events("s1", "s1-k1"), batch("good-1", range(10, 20)))
            dev.publish(topics.events("s1", "s1-k1"), json.dumps(poison).encode())
            dev.publish(topics.events("s1", "s1-k1"), batch("good-2", range(20, 30)))

            def acked() -> set[str]:
                return {json.loads(m.payload)["batch_id"] for m in dev.messages}

            wait_for(lambda: acked() == {"good-1", "good-2"}, 30, message="the good acks")
        with engine.connect() as c:
            rows = c.execute(select(dead_letters.c.reason, dead_letters.c.detail)).all()
            counters = read_ingest_counters(c)
        assert [r.reason for r in rows] == ["ingest_error"]
        assert "RuntimeError: effect bug" in rows[0].detail
        assert counters["messages"] == 3 and counters["messages_dead_lettered"] == 1
        assert counters["events_stored"] == 20
    finally:
        service.stop()
        engine.dispose()
