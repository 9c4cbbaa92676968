"""Marketers' read routes — profiles, score explain, journey, export, funnel — on profiles
built through the real ingest path (kiosk batches and ``POST /api/v1/events``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from central_api.domain.journeys.journey_rules import STAGE_INDEX, STAGES
from central_api.domain.scoring.active_rules import default_active_rules
from central_api.ingest import Ingestor
from central_api.store.profile_tables import (
    profile_events,
    profiles,
    score_ledger,
    stages_reached,
    touchpoints,
)
from edge_sync.protocol import format_ts, parse_ts, utcnow
from tests.central.api.conftest import Keys, bearer
from tests.central.api.test_online_events import CONSENT, online, post
from tests.central.helpers import batch_msg, event

HALF_LIFE_S = default_active_rules().scoring.half_life_s


def visit(seq: int, session: str, profile: str, device: str, store: str, start: datetime,
          campaign: str, consent: bool | None) -> list[dict[str, Any]]:  # fmt: skip
    """A kiosk visit: a search, a view, a campaign scan, the QR link, maybe a consent
    decision, an out-of-stock search (friction) and a pickup."""
    steps: list[tuple[str, dict[str, Any]]] = [
        ("session.started", {"trigger": "qr_scan"}),
        ("product.searched", {"query": "tent", "results": 5, "in_stock_results": 2}),
        ("product.viewed", {"sku": "SKU-1", "source": "search", "in_stock": True, "stock_qty": 3}),
        ("campaign.scanned", {"campaign_id": campaign, "recipient_id": "r-1"}),
        ("visit.linked", {"profile_id": profile, "method": "qr", "token_kind": "r",
                          "campaign_id": campaign}),
    ]  # fmt: skip
    if consent is not None:
        steps.append(("consent.recorded", {"purpose": "profiling", "granted": consent,
                                           "method": "kiosk_prompt", "text_version": "v1"}))  # fmt: skip
    steps += [
        ("product.searched", {"query": "stove", "results": 3, "in_stock_results": 0}),
        ("pickup.confirmed", {"order_id": f"o-{session}", "staff_id": "st-1", "items": 1,
                              "method": "qr"}),
    ]  # fmt: skip
    return [
        event(seq + i, t, device=device, store=store, session_id=session, data=d,
              occurred_at=format_ts(start + timedelta(seconds=30 * i)))
        for i, (t, d) in enumerate(steps)
    ]  # fmt: skip


@dataclass
class World:
    base: datetime
    online_id: str  # created by POST /api/v1/events, found by its alias C-100

    @property
    def active(self) -> set[str]:
        return {"prof-a", "prof-b", "prof-c", "prof-f", "prof-r", self.online_id}


@pytest.fixture
def world(engine: Engine, ingestor: Ingestor, client: TestClient, keys: Keys) -> World:
    # 08:00 UTC ten days ago: every visit below falls well inside its UTC day
    base = (utcnow() - timedelta(days=10)).replace(hour=8, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    plan = [  # profile, device, store, start, campaign, consent
        ("prof-a", "s1-k1", "s1", base, "cmp-1", True),
        ("prof-b", "s1-k2", "s1", base + timedelta(hours=1), "cmp-1", None),  # no consent
        ("prof-c", "s2-k1", "s2", base + day, "cmp-1", True),
        ("prof-r", "s1-k3", "s1", base + 2 * day, "cmp-2", True),  # revoked below
        ("prof-f", "s3-k1", "s3", utcnow() + day, "cmp-9", True),  # a device clock ahead
    ]
    for n, (pid, device, store, start, campaign, consent) in enumerate(plan):
        evs = visit(1, f"sess-{pid}", pid, device, store, start, campaign, consent)
        ingestor.process([batch_msg(evs, f"b{n}", device=device, store=store)])
    revoke = visit(100, "sess-r2", "prof-r", "s1-k3", "s1", base + 3 * day, "cmp-2", False)
    ingestor.process([batch_msg(revoke, "b-r2", device="s1-k3", store="s1")])
    r = post(client, keys.integration, [
        online("consent.recorded", CONSENT, customer="C-100", occurred_at=format_ts(base)),
        online("email.clicked", {"campaign_id": "cmp-3", "message_id": "m1", "url": "https://s/x"},
               customer="C-100", channel="email", occurred_at=format_ts(base + timedelta(hours=2))),
    ])  # fmt: skip
    assert r.status_code == 200 and not r.json()["rejected"], r.text
    with engine.connect() as c:
        online_id = c.execute(
            select(profiles.c.id).where(~profiles.c.id.like("prof-%"))
        ).scalar_one()
    return World(base, online_id)


def get(client: TestClient, key: str, path: str, **params: Any) -> Any:
    r = client.get(f"/api/v1{path}", params=params, headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


def list_all(client: TestClient, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = get(client, key, "/profiles", **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        if (cursor := page["next"]) is None:
            return items


ROUTES = ["/profiles", "/profiles/prof-a", "/profiles/prof-a/score", "/profiles/prof-a/journey",
          "/profiles/prof-a/export", "/funnel"]  # fmt: skip


def test_auth_marketer_and_admin_read_integration_is_forbidden(client, keys, world):
    for path in ROUTES:
        url = f"/api/v1{path}"
        none = client.get(url)
        assert (
            none.status_code == 401 and none.headers["content-type"] == "application/problem+json"
        )
        assert client.get(url, headers=bearer(keys.revoked)).status_code == 401
        assert client.get(url, headers=bearer(keys.integration)).status_code == 403, path
        for key in (keys.marketer, keys.admin):
            assert client.get(url, headers=bearer(key)).status_code == 200, path


def test_unknown_profiles_are_404_and_bad_params_422(client, keys, world):
    h = bearer(keys.marketer)
    for pid in ("nope", "x" * 65, "a%00b", "prof-"):
        for sub in ("", "/score", "/journey", "/export"):
            r = client.get(f"/api/v1/profiles/{pid}{sub}", headers=h)
            assert r.status_code == 404, (pid, sub, r.text)
            assert r.json()["type"] == "urn:omnikiosk:problem:not-found"
    bad = [
        ("/profiles", {"limit": 0}), ("/profiles", {"limit": 501}), ("/profiles", {"limit": "x"}),
        ("/profiles", {"stage": "bored"}), ("/profiles", {"grade": "Z"}),
        ("/profiles", {"lifecycle_stage": "nope"}), ("/profiles", {"cursor": "garbage"}),
        ("/profiles", {"q": "a\x00b"}), ("/profiles", {"q": "q" * 129}),
        ("/profiles/prof-a/score", {"at": "yesterday"}),
        ("/profiles/prof-a/score", {"at": "2026-11-01T00:00:00"}),  # no offset
        ("/profiles/prof-a/score", {"at": "0001-01-01T00:00:00+05:00"}),  # overflows in UTC
        ("/profiles/prof-a/journey", {"now": "2026-13-01T00:00:00Z"}),
        ("/funnel", {"start": "soon"}), ("/funnel", {"campaign": "c\x00"}),
        ("/funnel", {"store": "s" * 65}),
        ("/funnel", {"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"}),
    ]  # fmt: skip
    for path, params in bad:
        r = client.get(f"/api/v1{path}", params=params, headers=h)
        assert r.status_code == 422, (path, params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"], r.text
    extremes = [("/profiles/prof-a/score", {"at": "9999-12-31T23:59:59Z"}),
                ("/profiles/prof-a/score", {"at": "0001-01-01T00:00:00Z"}),
                ("/funnel", {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"}),
                ("/funnel", {"end": "0001-01-01T00:00:00Z"})]  # fmt: skip
    for path, params in extremes:
        assert client.get(f"/api/v1{path}", params=params, headers=h).status_code == 200


def test_pages_cover_every_active_profile_once_and_search_filters(client, keys, world, engine):
    for limit in (1, 2, 5, 6, 500):
        ids = [p["id"] for p in list_all(client, keys.marketer, limit=limit)]
        assert len(ids) == len(set(ids)) and set(ids) == world.active, limit
    everyone = {p["id"]: p for p in list_all(client, keys.marketer)}
    with engine.connect() as c:
        rows = {r.id: r for r in c.execute(select(profiles))}
    for pid, p in everyone.items():
        assert (p["grade"], p["funnel_stage"], p["lifecycle_stage"]) == (
            rows[pid].grade, rows[pid].funnel_stage, rows[pid].lifecycle_stage)  # fmt: skip
        assert p["score_raw"] == rows[pid].score_raw
    assert everyone["prof-a"]["score"] > 0 and everyone["prof-a"]["grade"] is not None
    assert everyone["prof-b"]["score"] == 0 and everyone["prof-b"]["grade"] is None  # no consent
    # prof-f's lines are all dated after now: scored as of now they count for nothing
    assert everyone["prof-f"]["score_raw"] > 0 and everyone["prof-f"]["score"] == 0.0

    def found(**params: Any) -> list[str]:
        return sorted(p["id"] for p in list_all(client, keys.marketer, **params))

    assert found(q="prof-") == ["prof-a", "prof-b", "prof-c", "prof-f", "prof-r"]
    assert found(q="prof-a") == ["prof-a"]
    assert found(q="PROF-") == [] and found(q="%") == [] and found(q="prof_") == []
    assert found(q="C-100") == [world.online_id]  # an alias value, exactly
    assert found(q="C-10") == []
    assert found(q="") == sorted(world.active)
    assert found(stage="delivery_use") == ["prof-a", "prof-c", "prof-f"]
    grade = everyone["prof-a"]["grade"]
    assert found(grade=grade) == sorted(p for p, v in everyone.items() if v["grade"] == grade)
    assert found(lifecycle_stage="mql") == sorted(
        p for p, v in everyone.items() if v["lifecycle_stage"] == "mql"
    )


def tenths(values: Any) -> int:
    """A sum of values shown to 0.1, in tenths (exact: no float addition)."""
    return sum(round(v * 10) for v in values)


def test_explain_lines_add_up_to_the_score(client, keys, world, engine):
    for pid in sorted(world.active):
        at = world.base + timedelta(days=9)  # after every visit but prof-f's
        ex = get(client, keys.marketer, f"/profiles/{pid}/score", at=format_ts(at))
        lines, totals = ex["lines"], ex["totals"]
        with engine.connect() as c:
            stored = c.execute(select(score_ledger).where(score_ledger.c.profile_id == pid)).all()
            row = c.execute(select(profiles).where(profiles.c.id == pid)).one()
        assert len(lines) + ex["later_lines"] == len(stored)
        assert totals["total_raw"] == sum(ln["points"] for ln in lines)
        # shown to 0.1, and what is shown adds up: lines to their group, groups to the total
        exact = math.fsum(
            ln["points"] * 2 ** (-(at - parse_ts(ln["occurred_at"])).total_seconds() / HALF_LIFE_S)
            for ln in lines
        )
        assert totals["total_decayed"] == round(exact, 1)
        assert tenths(totals["by_group_decayed"].values()) == tenths([totals["total_decayed"]])
        assert tenths(ln["decayed"] for ln in lines) == tenths([totals["total_decayed"]])
        for group, raw in totals["by_group_raw"].items():
            mine = [ln for ln in lines if ln["group"] == group]
            assert raw == sum(ln["points"] for ln in mine)
            assert tenths(ln["decayed"] for ln in mine) == tenths(
                [totals["by_group_decayed"][group]]
            )
        for ln in lines:
            age = (at - parse_ts(ln["occurred_at"])).total_seconds()
            assert round(ln["decayed"] * 10) == ln["decayed"] * 10  # one decimal
            assert ln["decayed"] == pytest.approx(ln["points"] * 2 ** (-age / HALF_LIFE_S), abs=0.1)
        if pid == "prof-f":  # dated after `at`
            assert lines == [] and ex["later_lines"] > 0
            continue
        # The stored anchor agrees: score_ref_sum × 2^(−(at − score_ref_at)/half-life).
        assert totals["total_raw"] == row.score_raw
        anchor = 0.0 if row.score_ref_at is None else (
            row.score_ref_sum * 2 ** (-(at - row.score_ref_at).total_seconds() / HALF_LIFE_S))  # fmt: skip
        assert totals["total_decayed"] == pytest.approx(anchor, abs=0.05)
        # …and so do the profile's own score and the listing's, both as of now.
        now_ex = get(client, keys.marketer, f"/profiles/{pid}/score")["totals"]
        detail = get(client, keys.marketer, f"/profiles/{pid}")["score"]
        listed = next(p for p in list_all(client, keys.marketer, q=pid) if p["id"] == pid)
        assert detail["total_raw"] == now_ex["total_raw"] == listed["score_raw"]
        assert detail["by_group_raw"] == now_ex["by_group_raw"]
        assert tenths(detail["by_group_decayed"].values()) == tenths([detail["total_decayed"]])
        for score in (detail["total_decayed"], listed["score"]):
            assert score == pytest.approx(now_ex["total_decayed"], abs=0.1)  # (moments apart)
    full = get(client, keys.marketer, "/profiles/prof-a/score")
    early = get(client, keys.marketer, "/profiles/prof-a/score",
                at=format_ts(world.base + timedelta(seconds=45)))  # fmt: skip
    assert [ln["rule_id"] for ln in early["lines"]] == ["kiosk.search"]  # the search at 30 s
    assert early["later_lines"] == len(full["lines"]) - 1


def test_profile_detail_and_merged_profiles(client, keys, world):
    a = get(client, keys.marketer, "/profiles/prof-a")
    assert a["status"] == "active" and a["merged_into"] is None
    assert [c["purpose"] for c in a["consents"]] == ["profiling"] and a["consents"][0]["granted"]
    assert [s["stage"] for s in a["stages"]] == list(STAGES[: STAGE_INDEX["delivery_use"] + 1])
    # the pickup reached delivery_use; the campaign scanned before it gets the credit
    assert (a["stages"][-1]["campaign_id"], a["stages"][-1]["store_id"]) == ("cmp-1", "s1")
    assert a["stages"][1]["campaign_id"] is None  # the first search came before the scan
    r = get(client, keys.marketer, "/profiles/prof-r")
    assert r["consents"][0]["granted"] is False  # the later decision wins
    online_p = get(client, keys.marketer, f"/profiles/{world.online_id}")
    assert {(x["kind"], x["value"]) for x in online_p["aliases"]} >= {("customer_id", "C-100")}
    # Merge prof-c into the online profile (it is older: first seen at base).
    m = client.post("/api/v1/profiles/merge", headers=bearer(keys.admin),
                    json={"profile_ids": ["prof-c", world.online_id], "reason": "same person"})  # fmt: skip
    assert m.status_code == 200 and m.json()["survivor"] == world.online_id, m.text
    merged = get(client, keys.marketer, "/profiles/prof-c")
    assert merged["status"] == "merged" and merged["merged_into"] == world.online_id
    for sub in ("/score", "/journey"):
        gone = client.get(f"/api/v1/profiles/prof-c{sub}", headers=bearer(keys.marketer))
        assert gone.status_code == 404 and world.online_id in gone.json()["detail"]
        assert gone.json()["type"] == "urn:omnikiosk:problem:profile-merged"
    export = get(client, keys.marketer, "/profiles/prof-c/export")
    assert export["profile"]["merged_into"] == world.online_id and export["merges"]
    assert "prof-c" not in {p["id"] for p in list_all(client, keys.marketer)}


def test_journey_needs_consent_and_judges_friction_as_of_now(client, keys, world, engine):
    a = get(client, keys.marketer, "/profiles/prof-a/journey")
    assert a["withheld"] is None and a["current_stage"] == "delivery_use"
    with engine.connect() as c:
        stored = c.execute(
            select(touchpoints.c.event_id, touchpoints.c.task).where(touchpoints.c.profile_id == "prof-a")
            .order_by(touchpoints.c.occurred_at, touchpoints.c.event_id)
        ).all()  # fmt: skip
    assert [(t["event_id"], t["task"]) for t in a["touchpoints"]] == [tuple(r) for r in stored]
    assert [t["task"] for t in a["touchpoints"]][:4] == [
        "search",
        "browse",
        "campaign_scan",
        "check_in",
    ]
    assert [f["kind"] for f in a["friction"]] == ["out_of_stock"]
    assert a["friction"][0]["detail"]["query"] == "stove"
    for pid, why in (("prof-b", "never granted"), ("prof-r", "revoked")):
        j = get(client, keys.marketer, f"/profiles/{pid}/journey")
        assert j["touchpoints"] == j["stages"] == j["friction"] == [] and j["current_stage"] is None
        assert why in j["withheld"]
    # The online customer clicked a campaign email and never came in: a finding once the
    # 14-day window has closed, not before.
    path = f"/profiles/{world.online_id}/journey"
    assert get(client, keys.marketer, path)["friction"] == []
    later = get(client, keys.marketer, path, now=format_ts(world.base + timedelta(days=15)))
    assert [(f["kind"], f["detail"]["campaign_id"]) for f in later["friction"]] == [
        ("campaign_no_visit", "cmp-3")]  # fmt: skip


def test_export_holds_everything_stored_about_the_profile(client, keys, world, engine):
    r = client.get("/api/v1/profiles/prof-r/export", headers=bearer(keys.marketer))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    doc = r.json()
    pid = "prof-r"
    with engine.connect() as c:
        ledger = {(x.event_id, x.rule_id, x.points) for x in
                  c.execute(select(score_ledger).where(score_ledger.c.profile_id == pid))}  # fmt: skip
        n_events = c.execute(select(func.count()).select_from(profile_events)
                             .where(profile_events.c.profile_id == pid)).scalar_one()  # fmt: skip
    assert doc["profile"]["id"] == pid
    assert {(x["event_id"], x["rule_id"], x["points"]) for x in doc["ledger"]} == ledger
    assert len(doc["facts"]) == n_events and len(doc["sessions"]) == 2
    assert [c["granted"] for c in doc["consents"]] == [True, False]
    assert {f["type"] for f in doc["facts"]} >= {"visit.linked", "consent.recorded"}
    a = get(client, keys.marketer, "/profiles/prof-a/export")
    with engine.connect() as c:
        n = c.execute(select(func.count()).select_from(score_ledger)
                      .where(score_ledger.c.profile_id == "prof-a")).scalar_one()  # fmt: skip
    assert len(a["ledger"]) == n > 0 and a["touchpoints"] and a["stages"]
    assert {x["kind"] for x in get(client, keys.marketer, f"/profiles/{world.online_id}/export")
            ["aliases"]} == {"customer_id", "email_sha256"}  # fmt: skip


def expected_funnel(engine: Engine, campaign=None, store=None, start=None, end=None) -> list[int]:
    """Profiles per stage, straight from stages_reached: a kept row at a stage or later."""
    furthest: dict[str, int] = {}
    with engine.connect() as c:
        for r in c.execute(select(stages_reached)):
            if (campaign and r.campaign_id != campaign) or (store and r.store_id != store):
                continue
            if (start and r.first_reached_at < start) or (end and r.first_reached_at >= end):
                continue
            furthest[r.profile_id] = max(furthest.get(r.profile_id, -1), STAGE_INDEX[r.stage])
    return [sum(1 for f in furthest.values() if f >= i) for i in range(len(STAGES))]


def test_funnel_numbers_add_up_and_match_stages_reached(client, keys, world, engine):
    base = world.base
    cases = [
        ({}, {}, None),
        ({"campaign": "cmp-1"}, {"campaign": "cmp-1"}, 3),  # a, b (no consent) and c scanned
        ({"campaign": "cmp-1", "store": "s1"}, {"campaign": "cmp-1", "store": "s1"}, 2),
        ({"campaign": "cmp-1", "start": format_ts(base + timedelta(hours=16)),
          "end": format_ts(base + timedelta(days=5))},
         {"campaign": "cmp-1", "start": base + timedelta(hours=16),
          "end": base + timedelta(days=5)}, 1),  # only prof-c's visit, the next day
        ({"campaign": "cmp-1", "end": format_ts(base - timedelta(days=1))},
         {"campaign": "cmp-1", "end": base - timedelta(days=1)}, 0),
        ({"store": "nowhere"}, {"store": "nowhere"}, 0),
    ]  # fmt: skip
    for params, filters, scans in cases:
        f = get(client, keys.marketer, "/funnel", **params)
        counts = [s["profiles"] for s in f["stages"]]
        assert [s["stage"] for s in f["stages"]] == list(STAGES)
        assert counts == expected_funnel(engine, **filters), params
        assert sum(s["drop_off_from_previous"] for s in f["stages"]) + counts[-1] == counts[0]
        assert f["entered"] == counts[0]
        for s in f["stages"]:
            assert s["conversion_from_first"] == (s["profiles"] / counts[0] if counts[0] else 0)
        if scans is not None:
            assert f["campaign_scans"] == scans, params
    everyone = get(client, keys.marketer, "/funnel")
    # consenting, active profiles: a, c, f, the online one; prof-r's stages went with consent
    assert everyone["entered"] == 4 and everyone["campaign_scans"] == 6
    assert everyone["stages"][STAGE_INDEX["delivery_use"]]["profiles"] == 3
