"""With the default rules and demo-like traffic, grades spread and thresholds fire.

Kiosk visits (QR links, campaign scans, searches) go through ``Ingestor`` as MQTT
batches; online shoppers (email opens and clicks, web visits, carts, orders) through
the online ingest. No attribute is set explicitly: every grade here comes from the
default rules' derived attributes, and every crossing queues a webhook delivery.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from benchmarks._traffic import T0, kiosk_batches
from central_api.domain.online.online import ingest_online
from central_api.domain.scoring.active_rules import default_active_rules
from central_api.domain.webhooks.webhooks import create_webhook, crossing_key
from central_api.ingest import Incoming, Ingestor
from central_api.store.db import write_transaction
from central_api.store.ops_tables import webhook_deliveries
from central_api.store.profile_tables import profiles, threshold_crossings
from edge_sync.protocol import topics

CONSENT = {"purpose": "profiling", "granted": True, "method": "web_form", "text_version": "v1"}


def online_shoppers(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` online customers over two months: each consents, then reads and clicks some
    emails, visits the shop, and places zero to four orders of 15 to 400."""
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []

    def ev(customer: str, type_: str, at: Any, data: dict[str, Any], channel: str = "web") -> None:
        docs.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "type": type_, "v": 1,
            "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "channel": channel,
            "source": "shop", "customer_id": customer,
            "email_sha256": hashlib.sha256(customer.encode()).hexdigest(), "data": data,
        })  # fmt: skip

    for c in range(n):
        customer = f"C-{c:03d}"
        t = T0 + timedelta(hours=rng.randint(0, 24 * 20))
        ev(customer, "consent.recorded", t, CONSENT)
        keen = rng.random()  # how engaged this customer is, 0..1
        for m in range(int(keen * 12)):
            t += timedelta(hours=rng.randint(2, 60))
            data = {"campaign_id": f"cmp-{m % 3 + 1}", "message_id": f"msg-{m}"}
            ev(customer, "email.opened", t, data, "email")
            if rng.random() < keen:
                ev(customer, "email.clicked", t + timedelta(minutes=2),
                   {**data, "url": "https://shop.test/offer"}, "email")  # fmt: skip
                ev(customer, "web.visited", t + timedelta(minutes=3),
                   {"url": "https://shop.test/offer", "campaign_id": data["campaign_id"]})  # fmt: skip
        for o in range(rng.choice([0, 0, 1, 1, 2, 3, 4]) if keen > 0.2 else 0):
            t += timedelta(days=rng.randint(1, 9))
            value = round(rng.uniform(15, 400), 2)
            cart = f"k-{customer}-{o}"
            ev(customer, "cart.updated", t, {"cart_id": cart, "items": 2, "value": value})
            ev(
                customer,
                "checkout.started",
                t + timedelta(minutes=5),
                {"cart_id": cart, "value": value},
            )
            ev(customer, "order.placed", t + timedelta(minutes=9),
               {"order_id": f"o-{customer}-{o}", "value": value, "items": 2})  # fmt: skip
    rng.shuffle(docs)  # arrival order is not the order things happened
    return docs


def test_default_rules_spread_grades_and_fire_thresholds(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        create_webhook(conn, "http://127.0.0.1:9/crm", ["threshold.crossed"], T0)
    ingestor = Ingestor(engine)
    for payload in kiosk_batches(240, profiles=40, seed=3):
        doc = json.loads(payload)
        ingestor.process([Incoming(topics.events(doc["store_id"], doc["device_id"]), payload)])
    docs = online_shoppers(50)
    received = T0 + timedelta(days=90)
    for i in range(0, len(docs), 200):
        result = ingest_online(engine, docs[i : i + 200], received, default_active_rules())
        assert not result.rejected, result.rejected[:3]

    with engine.connect() as c:
        rows = c.execute(
            select(profiles.c.id, profiles.c.grade, profiles.c.lifecycle_stage)
            .where(profiles.c.status == "active", profiles.c.grade.is_not(None))
        ).all()  # fmt: skip
        tc = threshold_crossings.c
        crossings = c.execute(select(tc.profile_id, tc.threshold_id, tc.event_id)).all()
        queued = set(c.execute(select(webhook_deliveries.c.event_key)).scalars())
    grades = Counter(r.grade for r in rows)
    stages = Counter(r.lifecycle_stage for r in rows)
    print(f"{len(rows)} graded profiles: {dict(sorted(grades.items()))}; stages {dict(stages)}")
    assert 50 <= len(rows) <= 100
    assert len(grades) >= 4 and len({g[0] for g in grades}) >= 4, grades  # e.g. A, B, C, D
    assert stages["mql"] > 0 and stages["sql"] > 0, stages
    fired = Counter(x.threshold_id for x in crossings)
    assert fired["sql"] >= stages["sql"] and fired["mql"] >= stages["mql"]
    # Every stored crossing was announced. (Events arrive shuffled, so a crossing seen at
    # one event can move to an earlier one when a late event arrives; the first one was
    # announced too, and a webhook is never retracted: deliveries ≥ crossings.)
    assert {crossing_key(*x) for x in crossings} <= queued
