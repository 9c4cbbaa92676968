"""``GET /api/v1/profiles?sort=-score``: every profile once, in score order, page by page."""

from __future__ import annotations

import base64
import json
import random
from datetime import timedelta

from sqlalchemy import select

from central_api.store.profile_tables import profiles
from edge_sync.protocol import format_ts, utcnow
from tests.central.api.conftest import bearer
from tests.central.api.test_online_events import CONSENT, online, post


def pages(client, key, **params) -> list[list[dict]]:
    out, cursor = [], None
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/profiles", params=q, headers=bearer(key))
        assert r.status_code == 200, r.text
        out.append(r.json()["items"])
        if (cursor := r.json()["next"]) is None:
            return out


def test_profiles_listed_by_score_in_stable_pages(client, keys, engine):
    rng = random.Random(5)
    base = utcnow() - timedelta(days=40)
    evs = []
    for c in range(24):
        customer, t = f"S-{c:02d}", base + timedelta(days=rng.randint(0, 35))
        evs.append(online("consent.recorded", CONSENT, customer=customer, email=None,
                          occurred_at=format_ts(t)))  # fmt: skip
        for o in range(rng.randint(0, 3) if c % 5 else 0):  # 0..3 orders: equal scores (ties)
            evs.append(online("order.placed", {"order_id": f"o-{c}-{o}", "value": 20.0,
                                               "items": 1}, customer=customer, email=None,
                              occurred_at=format_ts(t + timedelta(hours=o))))  # fmt: skip
        if c % 5 == 0:  # an unhappy review: some scores are negative
            evs.append(online("review.posted", {"rating": 1}, customer=customer, email=None,
                              occurred_at=format_ts(t + timedelta(days=1))))  # fmt: skip
    assert not post(client, keys.integration, evs).json()["rejected"]
    by_score = pages(client, keys.marketer, sort="-score", limit=5)
    assert all(len(p) <= 5 for p in by_score) and len(by_score) == 5
    items = [p for page in by_score for p in page]
    with engine.connect() as c:
        ids = set(c.execute(select(profiles.c.id)).scalars())
    assert [p["id"] for p in items] != sorted(p["id"] for p in items)
    assert sorted(p["id"] for p in items) == sorted(ids)  # each once
    scores = [p["score"] for p in items]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0 > scores[-1]
    assert 0.0 in scores
    # equal keys (every profile without points) go by id, higher first
    zeros = [p["id"] for p in items if p["score_raw"] == 0]
    assert len(zeros) > 1 and zeros == sorted(zeros, reverse=True)
    ascending = [p for page in pages(client, keys.marketer, sort="score", limit=7) for p in page]
    assert [p["id"] for p in ascending] == [p["id"] for p in items][::-1]
    # a cursor belongs to its order
    r = client.get("/api/v1/profiles", params={"sort": "-score", "limit": 2},
                   headers=bearer(keys.marketer))  # fmt: skip
    cursor = r.json()["next"]
    for other in ("id", "score"):
        bad = client.get("/api/v1/profiles", params={"sort": other, "cursor": cursor},
                         headers=bearer(keys.marketer))  # fmt: skip
        assert bad.status_code == 422 and bad.json()["type"].endswith("invalid-cursor")
    for forged in (["profiles:-score", 10**30, 1.0, "x"], ["profiles:-score", 1, float("nan"), "x"],
                   ["profiles:-score", 1, 1e999, "x"]):  # fmt: skip
        raw = json.dumps(forged).encode()
        bad = client.get("/api/v1/profiles", headers=bearer(keys.marketer), params={
            "sort": "-score", "cursor": base64.urlsafe_b64encode(raw).decode().rstrip("=")})  # fmt: skip
        assert bad.status_code == 422, forged
    bad = client.get("/api/v1/profiles", params={"sort": "grade"}, headers=bearer(keys.marketer))
    assert bad.status_code == 422
