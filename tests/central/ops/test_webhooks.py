"""Webhooks end to end, with a real HTTP receiver: signed, retried, once per crossing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from central_api.domain.webhooks.webhooks import crossing_key
from central_api.store import make_engine
from central_api.store.ops_tables import webhook_deliveries
from central_api.webhook_worker import WebhookWorker
from tests.central.api.conftest import Keys, bearer
from tests.support.ports import free_port
from tests.support.waiting import wait_for

from .conftest import FAST
from .data import CONSENT, HOT, ingest, online, order, profile_id, put_rules, rederive, rules_text
from .receiver import Received, receiver


def subscribe(client: TestClient, keys: Keys, url: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": ["threshold.crossed"]},
        headers=bearer(keys.admin),
    )
    assert r.status_code == 201, r.text
    return r.json()


def hot_customer(client: TestClient, keys: Keys, engine: Engine, customer: str) -> str:
    """A consenting customer whose one order crosses the "hot" threshold (20 points)."""
    if client.get("/api/v1/rules", headers=bearer(keys.admin)).json()["version"] != "hot-1":
        assert put_rules(client, keys.admin, rules_text("hot-1", extra=HOT)).status_code == 200
    ingest(engine, [online("consent.recorded", CONSENT, customer, 0), order(customer, 1, 1)])
    return profile_id(engine, customer)


def deliveries(client: TestClient, keys: Keys, hook_id: int) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=bearer(keys.admin))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def check_signature(req: Received, secret: str) -> None:
    """What a receiver does, written independently of central's signing code."""
    ts = req.headers["X-Omk-Timestamp"]
    assert abs(time.time() - int(ts)) < 300
    mac = hmac.new(secret.encode(), ts.encode() + b"." + req.body, hashlib.sha256)
    assert hmac.compare_digest(req.headers["X-Omk-Signature"], "sha256=" + mac.hexdigest())


def test_a_crossing_is_delivered_once_signed_and_not_again_on_rederive(
    client: TestClient, keys: Keys, engine: Engine, worker: WebhookWorker
) -> None:
    with receiver() as rx:
        hook = subscribe(client, keys, rx.url)
        assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 40
        pid = hot_customer(client, keys, engine, "C1")
        got = wait_for(lambda: rx.got(), message="the delivery")
        done = wait_for(
            lambda: [d for d in deliveries(client, keys, hook["id"]) if d["status"] == "delivered"]
        )
        assert len(got) == 1 and len(done) == 1
        req, d = got[0], done[0]
        check_signature(req, hook["secret"])
        forged = Received(req.path, req.headers, req.body.replace(b"hot", b"cold"))
        with pytest.raises(AssertionError):
            check_signature(forged, hook["secret"])
        payload = json.loads(req.body)
        assert (
            payload["type"] == "threshold.crossed" and req.headers["X-Omk-Event"] == payload["type"]
        )
        assert payload["data"]["profile_id"] == pid and payload["data"]["threshold_id"] == "hot"
        assert payload["data"]["rules_version"] == "hot-1"
        assert payload["key"] == crossing_key(pid, "hot", payload["data"]["event_id"])
        assert req.headers["X-Omk-Delivery"] == str(d["id"])
        assert d["attempts"] == 1 and d["last_status_code"] == 200 and d["delivered_at"]
        assert d["payload"] == payload and d["event_key"] == payload["key"]

        # Re-deriving (directly, by a later event, by a new rules version that keeps the
        # crossing) queues nothing new for it.
        rederive(engine, pid)
        ingest(engine, [online("web.visited", {"url": "https://shop/x"}, "C1", 2)])
        assert put_rules(client, keys.admin, rules_text("hot-2", extra=HOT)).status_code == 200
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar() == 1
        # A second customer's crossing goes out; by then a resend would have gone too.
        other = hot_customer(client, keys, engine, "C2")
        wait_for(lambda: len(rx.got()) == 2, message="the second delivery")
        assert json.loads(rx.got()[1].body)["data"]["profile_id"] == other
        assert len({r.headers["X-Omk-Delivery"] for r in rx.got()}) == 2


def test_a_receiver_failing_twice_gets_it_on_the_third_attempt(
    client: TestClient, keys: Keys, engine: Engine, worker: WebhookWorker
) -> None:
    with receiver(statuses=[500, 500]) as rx:
        hook = subscribe(client, keys, rx.url)
        hot_customer(client, keys, engine, "C1")
        d = wait_for(
            lambda: [x for x in deliveries(client, keys, hook["id"]) if x["status"] == "delivered"],
            message="delivered after retries",
        )[0]
        got = rx.got()
        assert len(got) == 3 and d["attempts"] == 3 and d["last_status_code"] == 200
        assert d["last_error"] is None
        assert {r.headers["X-Omk-Delivery"] for r in got} == {str(d["id"])}
        assert len({r.body for r in got}) == 1  # the same event each time
        for r in got:
            check_signature(r, hook["secret"])


def test_a_dead_receiver_ends_failed_with_every_attempt_recorded(
    client: TestClient, keys: Keys, engine: Engine, worker: WebhookWorker
) -> None:
    hook = subscribe(client, keys, f"http://127.0.0.1:{free_port()}/hook")  # nobody listens
    hot_customer(client, keys, engine, "C1")
    d = wait_for(
        lambda: [x for x in deliveries(client, keys, hook["id"]) if x["status"] == "failed"],
        message="failed after the last attempt",
    )[0]
    assert d["attempts"] == worker.settings.retry.max_attempts == 3
    assert d["last_status_code"] is None and "ConnectionError" in d["last_error"]
    assert d["next_attempt_at"] is None and d["delivered_at"] is None
    assert worker.run_once() == 0  # nothing left to try


def test_a_receiver_answering_an_error_keeps_its_answer_in_the_log(
    client: TestClient, keys: Keys, engine: Engine, worker: WebhookWorker
) -> None:
    with receiver(statuses=[503, 503, 503]) as rx:
        hook = subscribe(client, keys, rx.url)
        hot_customer(client, keys, engine, "C1")
        d = wait_for(
            lambda: [x for x in deliveries(client, keys, hook["id"]) if x["status"] == "failed"]
        )[0]
    assert len(rx.got()) == 3
    assert d["last_status_code"] == 503 and d["last_error"] == "HTTP 503: try again later"


def test_workers_in_several_processes_send_each_delivery_once(
    client: TestClient, keys: Keys, engine: Engine, db_url: str
) -> None:
    with receiver() as rx:
        subscribe(client, keys, rx.url)
        assert put_rules(client, keys.admin, rules_text("hot-1", extra=HOT)).status_code == 200
        customers = [f"C{i:02d}" for i in range(24)]
        ingest(
            engine,
            [online("consent.recorded", CONSENT, c, 0) for c in customers]
            + [order(c, 1, 1) for c in customers],
        )
        engines = [make_engine(db_url) for _ in range(3)]  # one per "process"
        small = replace(FAST, batch_size=2)
        workers = [WebhookWorker(e, small) for e in engines]
        try:
            for w in workers:
                w.start()
            wait_for(lambda: len(rx.got()) >= len(customers), message="every delivery")
            with engine.connect() as conn:
                wait_for(lambda: _pending(conn) == 0, message="every outcome recorded")
        finally:
            for w in workers:
                w.stop()
            for e in engines:
                e.dispose()
        ids = [r.headers["X-Omk-Delivery"] for r in rx.got()]
        assert len(ids) == len(set(ids)) == len(customers)
        with engine.connect() as conn:
            rows = conn.execute(select(webhook_deliveries.c.status, webhook_deliveries.c.attempts))
            assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}


def _pending(conn: Any) -> int:
    d = webhook_deliveries
    n: int = conn.execute(select(func.count()).where(d.c.status == "pending")).scalar()
    conn.rollback()  # a fresh snapshot for the next poll
    return n


def test_erasing_a_profile_deletes_its_deliveries(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    hook = subscribe(client, keys, "http://127.0.0.1:9/never")  # no worker: stays queued
    pid = hot_customer(client, keys, engine, "C1")
    keep = hot_customer(client, keys, engine, "C2")
    assert {d["payload"]["data"]["profile_id"] for d in deliveries(client, keys, hook["id"])} == {
        pid,
        keep,
    }
    r = client.delete(f"/api/v1/profiles/{pid}", headers=bearer(keys.admin))
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["webhook_deliveries"] == 1
    left = deliveries(client, keys, hook["id"])
    assert [d["payload"]["data"]["profile_id"] for d in left] == [keep]
    with engine.connect() as conn:
        cells = conn.execute(select(webhook_deliveries.c.event_key, webhook_deliveries.c.payload))
        assert not any(pid in str(cell) for row in cells for cell in row)
