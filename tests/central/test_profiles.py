"""Step 2 effects through the real ingest path: identity, consent, and order independence."""

from __future__ import annotations

import random

from sqlalchemy import Engine, select

from central_api.ingest import Ingestor
from central_api.store.profile_tables import (
    campaign_counts,
    profiles,
    score_ledger,
    stages_reached,
    threshold_crossings,
    touchpoints,
)
from tests.central.helpers import at, batch_msg, event


def shopper_session(
    first_seq: int, session: str, profile: str, consent: bool, device: str, t0: float = 0
):
    """A kiosk session: browsing, a campaign scan, the QR link mid-session, a pickup."""
    steps = [
        ("session.started", {"trigger": "qr_scan"}),
        ("product.searched", {"query": "tent", "results": 5, "in_stock_results": 2}),
        ("product.viewed", {"sku": "SKU-1", "source": "search", "in_stock": True, "stock_qty": 3}),
        ("campaign.scanned", {"campaign_id": "cmp-1", "recipient_id": "r-1"}),
        (
            "visit.linked",
            {"profile_id": profile, "method": "qr", "token_kind": "r", "campaign_id": "cmp-1"},
        ),
    ]
    if consent:
        steps.append(
            (
                "consent.recorded",
                {
                    "purpose": "profiling",
                    "granted": True,
                    "method": "kiosk_prompt",
                    "text_version": "v1",
                },
            )
        )
    steps += [
        ("product.searched", {"query": "stove", "results": 3, "in_stock_results": 0}),
        (
            "pickup.confirmed",
            {"order_id": f"o-{session}", "staff_id": "st-1", "items": 1, "method": "qr"},
        ),
        ("session.ended", {"reason": "done", "duration_ms": 60000, "screens": 5}),
    ]
    out = []
    for i, (type_, data) in enumerate(steps):
        ts = at(t0 + i * 30).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append(
            event(
                first_seq + i, type_, device=device, occurred_at=ts, session_id=session, data=data
            )
        )
    return out


def snapshot(engine: Engine, profile: str) -> dict:
    with engine.connect() as c:
        prof = c.execute(select(profiles).where(profiles.c.id == profile)).mappings().one()
        ledger = sorted(
            (r.rule_id, r.points, r.occurred_at)
            for r in c.execute(select(score_ledger).where(score_ledger.c.profile_id == profile))
        )
        tps = sorted(
            (r.occurred_at, r.task, r.channel)
            for r in c.execute(select(touchpoints).where(touchpoints.c.profile_id == profile))
        )
        stages = sorted(
            (r.stage, r.first_reached_at)
            for r in c.execute(select(stages_reached).where(stages_reached.c.profile_id == profile))
        )
        crossings = sorted(
            (r.threshold_id, r.at)
            for r in c.execute(
                select(threshold_crossings).where(threshold_crossings.c.profile_id == profile)
            )
        )
    keep = (
        "grade",
        "lifecycle_stage",
        "funnel_stage",
        "score_raw",
        "score_ref_sum",
        "score_ref_at",
    )
    return {"profile": {k: prof[k] for k in keep}, "ledger": ledger, "touchpoints": tps,
            "stages": stages, "crossings": crossings}  # fmt: skip


def test_a_linked_session_counts_for_the_profile_and_consent_gates_it(engine, ingestor):
    evs = shopper_session(1, "sess-a", "prof-a", True, "s1-k1") + shopper_session(
        100, "sess-b", "prof-b", False, "s1-k1", t0=1000
    )
    ingestor.process([batch_msg(evs, device="s1-k1")])
    a = snapshot(engine, "prof-a")
    # Events from before the link count too: the first search is in the ledger.
    assert ("kiosk.search", 1.0, at(30)) in a["ledger"]  # searched at 30 s, linked at 120 s
    assert [t for _, t, _ in a["touchpoints"]][:2] == ["search", "browse"]
    assert a["profile"]["score_raw"] == sum(p for _, p, _ in a["ledger"]) > 0
    assert a["profile"]["funnel_stage"] == "delivery_use"
    # No consent: no score, no journey, no grade.
    b = snapshot(engine, "prof-b")
    assert b["ledger"] == [] and b["touchpoints"] == [] and b["stages"] == []
    assert b["profile"]["grade"] is None and b["profile"]["score_raw"] == 0
    # Anonymous campaign counts work without consent: both sessions scanned cmp-1.
    with engine.connect() as c:
        assert c.execute(select(campaign_counts.c.scans)).scalars().all() == [2]


def test_any_order_grouping_and_duplication_gives_the_same_profile(engine):
    ingestor = Ingestor(engine)
    results = []
    for run in range(4):
        device, profile = f"s1-k{run}", f"prof-{run}"
        evs = shopper_session(1, f"sess-{run}", profile, True, device)
        evs += shopper_session(50, f"sess2-{run}", profile, False, device, t0=600)  # second visit
        rng = random.Random(run)
        if run:
            evs = evs + rng.sample(evs, 4)  # resends
            rng.shuffle(evs)
        cuts = sorted(rng.sample(range(1, len(evs)), 3)) if run else []
        groups = [evs[i:j] for i, j in zip([0, *cuts], [*cuts, len(evs)], strict=True)]
        for n, g in enumerate(groups):
            ingestor.process([batch_msg(g, batch_id=f"b{n}", device=device)])
        results.append(snapshot(engine, profile))
    assert results[0]["ledger"]
    for other in results[1:]:
        assert other == results[0]


def test_the_earliest_link_owns_the_session_whatever_arrives_first(engine):
    from central_api.store.profile_tables import session_links

    def link(seq: int, profile: str, t: float, device: str) -> dict:
        return event(seq, "visit.linked", device=device, session_id="shared",
                     occurred_at=at(t).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                     data={"profile_id": profile, "method": "qr"})  # fmt: skip

    ingestor = Ingestor(engine)
    for run, order in enumerate([("early", "late"), ("late", "early"), ("both",)]):
        device = f"s1-k{run + 7}"
        early, late = link(1, f"first-{run}", 10, device), link(2, f"second-{run}", 20, device)
        browse = event(3, "product.searched", device=device, session_id="shared",
                       occurred_at=at(15).strftime("%Y-%m-%dT%H:%M:%S.000Z"))  # fmt: skip
        parts = {"early": [early, browse], "late": [late], "both": [late, browse, early]}
        for n, name in enumerate(order):
            ingestor.process([batch_msg(parts[name], batch_id=f"b{n}", device=device)])
        with engine.connect() as c:
            owner = c.execute(
                select(session_links.c.profile_id).where(session_links.c.device_id == device)
            ).scalar_one()
        assert owner == f"first-{run}", order
