"""POST /api/v1/events: online touchpoints get kiosk events' checks, dedup and effects."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from central_api.ingest import Ingestor
from central_api.store.profile_tables import profile_aliases, profiles, touchpoints
from central_api.store.tables import dead_letters
from edge_sync.protocol import new_event_id
from tests.central.api.conftest import bearer
from tests.central.helpers import batch_msg, event

EMAIL = hashlib.sha256(b"ada@example.com").hexdigest()


def online(
    type_: str, data: dict, customer: str | None = "C1", email: str | None = EMAIL, **over
) -> dict:
    doc = {"id": new_event_id(), "type": type_, "v": 1, "occurred_at": "2026-11-20T09:00:00Z",
           "channel": "web", "source": "shop", "customer_id": customer, "email_sha256": email,
           "data": data}  # fmt: skip
    doc.update(over)
    return doc


CONSENT = {"purpose": "profiling", "granted": True, "method": "web_form", "text_version": "v3"}


def post(client, key, events):
    return client.post("/api/v1/events", json={"events": events}, headers=bearer(key))


def profile_of(engine, kind: str, value: str) -> str:
    with engine.connect() as c:
        return c.execute(
            select(profile_aliases.c.profile_id).where(
                profile_aliases.c.kind == kind, profile_aliases.c.value == value
            )
        ).scalar_one()


def test_online_events_build_a_profile_and_resends_are_duplicates(client, keys, engine):
    evs = [
        online("consent.recorded", CONSENT),
        online("email.clicked", {"campaign_id": "cmp-1", "message_id": "m1", "url": "https://s/x"},
               channel="email", occurred_at="2026-11-20T09:05:00Z"),
        online("order.placed", {"order_id": "o-1", "value": 120.0, "items": 2, "pickup_store_id": "s1"},
               occurred_at="2026-11-20T09:10:00Z"),
    ]  # fmt: skip
    r = post(client, keys.integration, evs)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": [e["id"] for e in evs], "duplicates": [], "rejected": []}
    pid = profile_of(engine, "customer_id", "C1")
    assert profile_of(engine, "email_sha256", EMAIL) == pid
    with engine.connect() as c:
        tasks = [
            t
            for (t,) in c.execute(
                select(touchpoints.c.task)
                .where(touchpoints.c.profile_id == pid)
                .order_by(touchpoints.c.occurred_at)
            )
        ]
        prof = c.execute(select(profiles).where(profiles.c.id == pid)).mappings().one()
    assert tasks == ["consent", "click_email", "order"]
    assert prof["funnel_stage"] == "action" and prof["score_raw"] > 0
    again = post(client, keys.integration, evs)
    assert again.json()["accepted"] == [] and len(again.json()["duplicates"]) == 3
    with engine.connect() as c:
        assert (
            c.execute(select(profiles).where(profiles.c.id == pid)).mappings().one()["score_raw"]
            == prof["score_raw"]
        )


def test_bad_online_events_are_rejected_and_kept_the_rest_flow(client, keys, engine):
    good = online("web.visited", {"url": "https://shop/tents"})
    evs = [
        good,
        online("web.teleported", {}),
        online("cart.updated", {"cart_id": "c1", "items": -1, "value": 3}),
        online("web.visited", {"url": "https://x"}, customer=None, email=None),
        {"not": "an event"},
    ]
    r = post(client, keys.integration, evs)
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == [good["id"]]
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert reasons == {
        1: "unknown_type",
        2: "schema_violation",
        3: "schema_violation",
        4: "schema_violation",
    }
    assert "data.items" in body["rejected"][1]["detail"]
    assert "customer_id or email_sha256" in body["rejected"][2]["detail"]
    with engine.connect() as c:
        assert (
            c.execute(select(dead_letters.c.reason)).scalars().all().count("schema_violation") == 3
        )


def test_auth_and_shape(client, keys):
    ev = [online("web.visited", {"url": "https://x"})]
    assert client.post("/api/v1/events", json={"events": ev}).status_code == 401
    assert post(client, keys.marketer, ev).status_code == 403
    assert post(client, keys.admin, ev).status_code == 200
    r = client.post("/api/v1/events", json={"events": []}, headers=bearer(keys.integration))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


def test_a_kiosk_pickup_before_the_order_counts_for_the_customer(client, keys, engine):
    # Consent online first, then the pickup at the kiosk (no QR link), then the order arrives.
    post(client, keys.integration, [online("consent.recorded", CONSENT)])
    Ingestor(engine).process([batch_msg([event(
        1, "pickup.confirmed", session_id="walk-in",
        data={"order_id": "o-77", "staff_id": "st-1", "items": 1, "method": "lookup"},
        occurred_at="2026-11-21T12:00:00.000Z")])])  # fmt: skip
    post(client, keys.integration,
         [online("order.placed", {"order_id": "o-77", "value": 40.0, "items": 1, "pickup_store_id": "s1"})])  # fmt: skip
    pid = profile_of(engine, "customer_id", "C1")
    with engine.connect() as c:
        tasks = set(
            c.execute(select(touchpoints.c.task).where(touchpoints.c.profile_id == pid)).scalars()
        )
        stage = c.execute(select(profiles.c.funnel_stage).where(profiles.c.id == pid)).scalar_one()
    assert "pickup" in tasks and stage == "delivery_use"


def test_two_identified_profiles_are_not_merged_by_an_event(client, keys, engine):
    other = hashlib.sha256(b"bob@example.com").hexdigest()
    post(
        client,
        keys.integration,
        [online("web.visited", {"url": "https://a"}, customer="C1", email=None)],
    )
    post(
        client,
        keys.integration,
        [online("web.visited", {"url": "https://b"}, customer=None, email=other)],
    )
    p1, p2 = profile_of(engine, "customer_id", "C1"), profile_of(engine, "email_sha256", other)
    assert p1 != p2
    post(
        client,
        keys.integration,
        [online("web.visited", {"url": "https://c"}, customer="C1", email=other)],
    )
    assert profile_of(engine, "email_sha256", other) == p2  # still its own profile
    with engine.connect() as c:
        assert (
            c.execute(select(profiles.c.status).where(profiles.c.id == p2)).scalar_one() == "active"
        )


def test_a_url_with_a_nul_is_refused_and_campaign_reads_still_work(client, keys, engine):
    """PostgreSQL cannot turn a stored "\\u0000" into text, so one accepted event with a
    NUL in its URL made every later read of ``data ->> 'campaign_id'`` fail (the funnel
    by campaign answered 500)."""
    bad = online("web.visited", {"url": "https://shop/\x00tents"})
    r = post(client, keys.integration, [bad])
    assert r.status_code == 200 and r.json()["accepted"] == []
    (why,) = r.json()["rejected"]
    assert why["reason"] == "schema_violation" and "data.url" in why["detail"]
    r = client.get("/api/v1/funnel", params={"campaign": "spring"}, headers=bearer(keys.marketer))
    assert r.status_code == 200, r.text
