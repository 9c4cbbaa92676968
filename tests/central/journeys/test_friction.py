"""Friction findings, each at its window boundary: just before, at, and just after."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from central_api.domain.facts import Fact
from central_api.domain.journeys.friction import Finding, findings
from central_api.domain.journeys.journey_rules import DEFAULT_JOURNEY_RULES, JourneyRules

from .factory import T0, TICK, make

H = timedelta(hours=1)
D = timedelta(days=1)
PICKUP = 72 * H
CAMPAIGN = 14 * D
CHECKOUT = 24 * H


def kinds(facts: list[Fact], now: datetime, rules: JourneyRules = DEFAULT_JOURNEY_RULES) -> list:
    return [(f.kind, f.at, f.event_id) for f in findings(facts, rules, now)]


# --- at the kiosk -------------------------------------------------------------------


def test_out_of_stock_view_at_the_kiosk() -> None:
    view = make("product.viewed", T0, data={"sku": "kettle-2", "in_stock": False}, store="s1")
    (finding,) = findings([view, make("product.viewed", T0)], DEFAULT_JOURNEY_RULES, T0)
    assert finding == Finding(
        "out_of_stock", T0, view.event_id, {"store_id": "s1", "sku": "kettle-2", "source": "view"}
    )


def test_out_of_stock_view_elsewhere_is_not_kiosk_friction() -> None:
    view = make("product.viewed", T0, data={"in_stock": False}, channel="app")
    assert findings([view], DEFAULT_JOURNEY_RULES, T0) == []


@pytest.mark.parametrize(
    ("results", "in_stock", "found"), [(3, 0, True), (3, 1, False), (0, 0, False)]
)
def test_out_of_stock_search(results: int, in_stock: int, found: bool) -> None:
    search = make("product.searched", T0, data={"results": results, "in_stock_results": in_stock})
    got = findings([search], DEFAULT_JOURNEY_RULES, T0)
    assert [f.kind for f in got] == (["out_of_stock"] if found else [])
    if found:
        assert got[0].detail == {
            "store_id": "s042",
            "query": "kettle",
            "results": 3,
            "source": "search",
        }


def test_scan_failed_with_its_reason() -> None:
    bad = make("qr.scanned", T0, data={"valid": False, "kind": None, "reason": "expired"})
    good = make("qr.scanned", T0)
    (finding,) = findings([bad, good], DEFAULT_JOURNEY_RULES, T0)
    assert finding == Finding(
        "scan_failed", T0, bad.event_id, {"store_id": "s042", "reason": "expired", "kind": None}
    )


# --- pickup not collected --------------------------------------------------------------


def _order(at: datetime = T0, order_id: str = "o1", store: str | None = "s1") -> Fact:
    return make("order.placed", at, data={"order_id": order_id, "pickup_store_id": store})


@pytest.mark.parametrize(("now", "found"), [(T0 + PICKUP - TICK, False), (T0 + PICKUP, True)])
def test_pickup_not_collected_once_the_window_has_run_out(now: datetime, found: bool) -> None:
    order = _order()
    expected = [("pickup_not_collected", T0 + PICKUP, order.event_id)] if found else []
    assert kinds([order], now) == expected


@pytest.mark.parametrize(("picked_at", "found"), [(T0 + PICKUP - TICK, False), (T0 + PICKUP, True)])
def test_pickup_just_in_time_or_just_too_late(picked_at: datetime, found: bool) -> None:
    order = _order()
    pickup = make("pickup.confirmed", picked_at, data={"order_id": "o1"})
    got = findings([order, pickup], DEFAULT_JOURNEY_RULES, T0 + 10 * D)
    assert [f.kind for f in got] == (["pickup_not_collected"] if found else [])
    if found:
        assert got[0].detail == {
            "order_id": "o1",
            "pickup_store_id": "s1",
            "placed_at": "2026-11-23T10:00:00.000Z",
            "collected_at": "2026-11-26T10:00:00.000Z",
        }


def test_pickup_of_another_order_and_home_delivery() -> None:
    order = _order(order_id="o1")
    other = make("pickup.confirmed", T0 + H, data={"order_id": "o2"})
    home = _order(order_id="o3", store=None)
    assert kinds([order, other, home], T0 + PICKUP) == [
        ("pickup_not_collected", T0 + PICKUP, order.event_id)
    ]


def test_pickup_window_is_configurable() -> None:
    rules = JourneyRules.model_validate({"friction": {"pickup_uncollected_after_hours": 1}})
    assert kinds([_order()], T0 + H, rules)[0][1] == T0 + H


# --- campaign with no visit -------------------------------------------------------------


def _click(at: datetime, campaign: str = "c1") -> Fact:
    return make("email.clicked", at, data={"campaign_id": campaign})


@pytest.mark.parametrize(
    ("visit_at", "found"),
    [
        (T0, False),  # at the same instant
        (T0 + CAMPAIGN - TICK, False),
        (T0 + CAMPAIGN, True),
        (T0 - TICK, True),  # a visit before the interaction does not answer it
    ],
)
@pytest.mark.parametrize("visit_type", ["visit.linked", "campaign.scanned", "pickup.confirmed"])
def test_campaign_no_visit_window(visit_at: datetime, found: bool, visit_type: str) -> None:
    click = _click(T0)
    visit = make(visit_type, visit_at, store="s5")
    expected = [("campaign_no_visit", T0 + CAMPAIGN, click.event_id)] if found else []
    assert kinds([click, visit], T0 + 30 * D) == expected


@pytest.mark.parametrize(("now", "found"), [(T0 + CAMPAIGN - TICK, False), (T0 + CAMPAIGN, True)])
def test_campaign_no_visit_not_before_the_window_ends(now: datetime, found: bool) -> None:
    assert len(kinds([_click(T0)], now)) == found


def test_campaign_no_visit_episodes() -> None:
    first = _click(T0)
    again = _click(T0 + 3 * D)  # same episode as the first
    web = make("web.visited", T0 + 20 * D, data={"campaign_id": "c1"})  # a new one
    visit = make("visit.linked", T0 + 21 * D)  # answers the second episode
    after = _click(T0 + 21 * D)  # at the visit: answered by it too
    other = _click(T0 + D, campaign="c2")  # another campaign: its own episode
    plain_web = make("web.visited", T0)  # no campaign: not a campaign interaction
    facts = [first, again, web, visit, after, other, plain_web]
    got = findings(facts, DEFAULT_JOURNEY_RULES, T0 + 60 * D)
    assert [(f.kind, f.at, f.event_id) for f in got] == [
        ("campaign_no_visit", T0 + CAMPAIGN, first.event_id),
        ("campaign_no_visit", T0 + D + CAMPAIGN, other.event_id),
    ]
    assert got[0].detail == {
        "campaign_id": "c1",
        "first_interaction_at": "2026-11-23T10:00:00.000Z",
        "interactions": 2,
    }


def test_email_opens_are_not_interactions_unless_configured() -> None:
    opened = make("email.opened", T0)
    assert kinds([opened], T0 + 30 * D) == []
    rules = JourneyRules.model_validate({"friction": {"campaign_interaction_types": ["email.*"]}})
    assert kinds([opened], T0 + 30 * D, rules) == [
        ("campaign_no_visit", T0 + CAMPAIGN, opened.event_id)
    ]


# --- checkout abandoned ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_at", "found"),
    [(T0, False), (T0 + CHECKOUT - TICK, False), (T0 + CHECKOUT, True), (T0 - TICK, True)],
)
def test_checkout_abandoned_window(order_at: datetime, found: bool) -> None:
    checkout = make("checkout.started", T0)
    order = make("order.placed", order_at)
    expected = [("checkout_abandoned", T0 + CHECKOUT, checkout.event_id)] if found else []
    assert kinds([checkout, order], T0 + 10 * D) == expected


@pytest.mark.parametrize(("now", "found"), [(T0 + CHECKOUT - TICK, False), (T0 + CHECKOUT, True)])
def test_checkout_abandoned_not_before_the_window_ends(now: datetime, found: bool) -> None:
    checkout = make("checkout.started", T0)
    assert len(kinds([checkout], now)) == found
    if found:
        assert findings([checkout], DEFAULT_JOURNEY_RULES, now)[0].detail == {
            "cart_id": "k1",
            "value": 10.0,
            "step": "checkout",
        }


def test_a_cart_with_items_counts_and_more_activity_restarts_the_wait() -> None:
    cart = make("cart.updated", T0, data={"items": 2})
    checkout = make("checkout.started", T0 + CHECKOUT - TICK)
    got = kinds([cart, checkout], T0 + 10 * D)
    assert got == [("checkout_abandoned", T0 + 2 * CHECKOUT - TICK, checkout.event_id)]
    later = make("checkout.started", T0 + CHECKOUT)  # after the cart's window: two findings
    assert kinds([cart, later], T0 + 10 * D) == [
        ("checkout_abandoned", T0 + CHECKOUT, cart.event_id),
        ("checkout_abandoned", T0 + 2 * CHECKOUT, later.event_id),
    ]


def test_an_emptied_cart_is_not_abandoned() -> None:
    cart = make("cart.updated", T0, data={"items": 2})
    emptied = make("cart.updated", T0 + H, data={"items": 0})
    other_cart_emptied = make("cart.updated", T0 + H, data={"cart_id": "k2", "items": 0})
    assert kinds([cart, emptied], T0 + 10 * D) == []
    assert kinds([cart, other_cart_emptied], T0 + 10 * D) == [
        ("checkout_abandoned", T0 + CHECKOUT, cart.event_id)
    ]


# --- all together ---------------------------------------------------------------------


def test_findings_are_ordered_and_can_be_disabled() -> None:
    facts = [
        make("checkout.started", T0),
        make("product.viewed", T0 + H, data={"in_stock": False}),
        make("qr.scanned", T0 + 2 * H, data={"valid": False, "reason": "revoked"}),
    ]
    got = findings(facts, DEFAULT_JOURNEY_RULES, T0 + 10 * D)
    assert [f.kind for f in got] == ["out_of_stock", "scan_failed", "checkout_abandoned"]
    rules = JourneyRules.model_validate(
        {"friction": {"disabled": ["scan_failed", "checkout_abandoned"]}}
    )
    assert [f.kind for f in findings(facts, rules, T0 + 10 * D)] == ["out_of_stock"]
