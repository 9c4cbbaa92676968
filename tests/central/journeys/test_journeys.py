"""Touchpoints, stage history and the timeline of one profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central_api.domain.journeys.journey_rules import DEFAULT_JOURNEY_RULES, STAGES, JourneyRules
from central_api.domain.journeys.journeys import (
    Journey,
    StageReached,
    Touchpoint,
    current_stage,
    stage_history,
    timeline,
    touchpoints,
)

from .factory import T0, TICK, make

H = timedelta(hours=1)
D = timedelta(days=1)


def test_touchpoints_skip_facts_without_a_task_and_follow_time_order() -> None:
    view = make("product.viewed", T0 + H, store="s7")
    start = make("session.started", T0)
    click = make("email.clicked", T0 - H, data={"campaign_id": "spring"})
    assert touchpoints([view, start, click]) == [
        Touchpoint(T0 - H, "email", "click_email", None, None, click.event_id, "spring"),
        Touchpoint(T0 + H, "kiosk", "browse", "s7-k1", "s7", view.event_id, None),
    ]


def test_touchpoint_campaign_comes_from_the_envelope_first() -> None:
    (tp,) = touchpoints([make("campaign.scanned", data={"campaign_id": "a"}, campaign="b")])
    assert tp.campaign_id == "b"
    (tp,) = touchpoints([make("web.visited", data={"campaign_id": "a"})])
    assert tp.campaign_id == "a"


# (type, data overrides, the highest stage it evidences under the default rules)
STAGE_CASES = [
    ("email.opened", {}, "awareness"),
    ("web.visited", {}, "awareness"),
    ("visit.linked", {}, "awareness"),
    ("email.clicked", {}, "interest"),
    ("campaign.scanned", {}, "interest"),
    ("product.searched", {}, "interest"),
    ("product.viewed", {"in_stock": False}, "interest"),
    ("product.viewed", {"in_stock": True}, "desire"),
    ("cart.updated", {"items": 0}, None),
    ("cart.updated", {"items": 2}, "desire"),
    ("checkout.started", {}, "desire"),
    ("order.placed", {}, "action"),
    ("pickup.confirmed", {}, "delivery_use"),
    ("review.posted", {"rating": 3}, "delivery_use"),
    ("review.posted", {"rating": 4}, "advocacy"),
    ("session.started", {}, None),
    ("session.ended", {}, None),
    ("qr.scanned", {}, None),
    ("pickup.refused", {}, None),
    ("consent.recorded", {}, None),
    ("survey.answered", {"rating": 3}, None),
    ("survey.answered", {"rating": 4, "reason": "quick"}, "advocacy"),
    ("survey.answered", {"rating": 5, "context": "pickup", "order_id": "o1"}, "advocacy"),
]


@pytest.mark.parametrize(("event_type", "data", "stage"), STAGE_CASES)
def test_default_stage_per_type(event_type: str, data: dict, stage: str | None) -> None:
    fact = make(event_type, data=data)
    assert current_stage([fact]) == stage
    history = stage_history([fact])
    assert [s.stage for s in history] == list(STAGES[: STAGES.index(stage) + 1] if stage else [])
    assert all(s.event_id == fact.event_id and s.first_reached_at == T0 for s in history)
    # only the stages no rule named are implied
    if stage is not None:
        evidenced = {STAGES[i] for i in DEFAULT_JOURNEY_RULES.stages_evidenced(fact)}
        assert {s.stage for s in history if not s.implied} == evidenced


def test_stages_never_go_back() -> None:
    order = make("order.placed", T0)
    later_open = make("email.opened", T0 + D)
    later_view = make("product.viewed", T0 + 2 * D, data={"in_stock": True})
    review = make("review.posted", T0 + 3 * D, data={"rating": 2})
    assert current_stage([order, later_open, later_view]) == "action"
    history = stage_history([order, later_open, later_view, review])
    assert [(s.stage, s.first_reached_at) for s in history] == [
        ("awareness", T0),
        ("interest", T0),
        ("desire", T0),
        ("action", T0),
        ("delivery_use", T0 + 3 * D),
    ]


def test_first_reached_at_is_the_first_fact_and_implied_stages_are_marked() -> None:
    opened = make("email.opened", T0, data={"campaign_id": "c1"})
    cart = make("cart.updated", T0 + H)
    cart_again = make("cart.updated", T0 + 2 * H)
    history = stage_history([cart_again, cart, opened])
    assert history == [
        StageReached("awareness", T0, opened.event_id, "c1", None, implied=False),
        StageReached("interest", T0 + H, cart.event_id, "c1", None, implied=True),
        StageReached("desire", T0 + H, cart.event_id, "c1", None, implied=False),
    ]


def test_attribution_is_last_touch_within_the_window() -> None:
    rules = JourneyRules.model_validate({"attribution_window_days": 2})
    opened = make("email.opened", T0, data={"campaign_id": "c1"})
    visit = make("visit.linked", T0 + H, store="s1")
    view = make("product.viewed", T0 + 2 * H, data={"in_stock": True}, store="s1")
    order = make("order.placed", T0 + 2 * D - TICK, data={"pickup_store_id": "s9"})
    review = make("review.posted", T0 + 2 * D)
    history = {s.stage: s for s in stage_history([opened, visit, view, order, review], rules)}
    assert (history["awareness"].campaign_id, history["awareness"].store_id) == ("c1", None)
    assert (history["interest"].campaign_id, history["interest"].store_id) == ("c1", "s1")
    # the order's pickup store is its own store; c1 is just under 2 days back: credited
    assert (history["action"].campaign_id, history["action"].store_id) == ("c1", "s9")
    # exactly 2 days after the email: out of the window; the store is the order's pickup
    # store, carried forward
    assert (history["delivery_use"].campaign_id, history["delivery_use"].store_id) == (None, "s9")


def test_attribution_window_zero_credits_only_the_facts_own() -> None:
    rules = JourneyRules.model_validate({"attribution_window_days": 0})
    opened = make("email.opened", T0, data={"campaign_id": "c1"})
    order = make("order.placed", T0 + H)
    history = stage_history([opened, order], rules)
    assert [s.campaign_id for s in history] == ["c1", None, None, None]


def test_custom_stage_rules() -> None:
    rules = JourneyRules.model_validate(
        {"stages": [{"event": "session.started", "stage": "interest", "channel": ["kiosk"]}]}
    )
    assert current_stage([make("session.started")], rules) == "interest"
    assert current_stage([make("order.placed")], rules) is None


def test_timeline_puts_it_together() -> None:
    order = make("order.placed", T0, data={"order_id": "o9", "pickup_store_id": "s1"})
    start = make("session.started", T0 + H)
    now = T0 + 4 * D
    journey = timeline([start, order, order], DEFAULT_JOURNEY_RULES, now)
    assert isinstance(journey, Journey)
    assert [t.event_id for t in journey.touchpoints] == [order.event_id]
    assert journey.current_stage == "action"
    assert journey.stages == stage_history([order])
    assert [f.kind for f in journey.friction] == ["pickup_not_collected"]


def test_empty() -> None:
    journey = timeline([], DEFAULT_JOURNEY_RULES, T0)
    assert journey == Journey([], [], None, [])
