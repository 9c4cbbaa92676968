"""Property: any permutation and duplication of a profile's facts gives the same journey.

Facts are generated of every real event type, with data validated by the event schemas,
over a small pool of campaigns, orders, carts and stores and on a quarter-hour grid, so
that interactions, ties in time and window boundaries (all whole hours) come up often.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from central_api.domain.facts import Fact
from central_api.domain.journeys.friction import findings
from central_api.domain.journeys.funnel import funnel, rows_for
from central_api.domain.journeys.journey_rules import DEFAULT_JOURNEY_RULES, STAGES
from central_api.domain.journeys.journeys import stage_history, timeline, touchpoints

from .factory import ALL_TYPES, KIOSK_TYPES, T0, validated

QUARTER = timedelta(minutes=15)
HORIZON = 40 * 24 * 4  # 40 days of quarter hours

campaigns = st.sampled_from(["c1", "c2"])
maybe_campaign = st.none() | campaigns
orders = st.sampled_from(["o1", "o2"])
carts = st.sampled_from(["k1", "k2"])
stores = st.sampled_from(["s1", "s2"])
money = st.sampled_from([0.0, 9.5, 120.0])

DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "session.started": st.fixed_dictionaries(
        {"trigger": st.sampled_from(["touch", "qr_scan", "staff", "proximity"])}
    ),
    "session.ended": st.fixed_dictionaries(
        {"reason": st.sampled_from(["timeout", "done"]), "duration_ms": st.integers(0, 10**6)}
    ),
    "product.searched": st.fixed_dictionaries(
        {
            "query": st.sampled_from(["kettle", "tea"]),
            "results": st.integers(0, 3),
            "in_stock_results": st.integers(0, 3),
        }
    ),
    "product.viewed": st.fixed_dictionaries(
        {
            "sku": st.sampled_from(["sku-1", "sku-2"]),
            "source": st.sampled_from(["search", "browse", "scan", "campaign"]),
            "in_stock": st.booleans(),
            "stock_qty": st.none() | st.integers(0, 5),
        }
    ),
    "qr.scanned": st.fixed_dictionaries(
        {
            "valid": st.booleans(),
            "kind": st.none() | st.sampled_from(["p", "c", "r", "o"]),
            "reason": st.none() | st.sampled_from(["expired", "bad_signature", "revoked"]),
        }
    ),
    "visit.linked": st.fixed_dictionaries(
        {"profile_id": st.just("p1"), "method": st.just("qr"), "campaign_id": maybe_campaign}
    ),
    "campaign.scanned": st.fixed_dictionaries({"campaign_id": campaigns}),
    "pickup.confirmed": st.fixed_dictionaries(
        {
            "order_id": orders,
            "staff_id": st.just("staff1"),
            "items": st.integers(1, 3),
            "method": st.sampled_from(["qr", "lookup"]),
        }
    ),
    "pickup.refused": st.fixed_dictionaries(
        {"order_id": orders, "staff_id": st.just("staff1"), "reason": st.just("not_ready")}
    ),
    "consent.recorded": st.fixed_dictionaries(
        {
            "purpose": st.just("marketing"),
            "granted": st.booleans(),
            "method": st.just("kiosk_prompt"),
            "text_version": st.just("v1"),
        }
    ),
    "email.opened": st.fixed_dictionaries({"campaign_id": campaigns, "message_id": st.just("m")}),
    "email.clicked": st.fixed_dictionaries(
        {"campaign_id": campaigns, "message_id": st.just("m"), "url": st.just("https://x/")}
    ),
    "web.visited": st.fixed_dictionaries(
        {"url": st.just("https://x/"), "campaign_id": maybe_campaign}
    ),
    "cart.updated": st.fixed_dictionaries(
        {"cart_id": carts, "items": st.integers(0, 3), "value": money}
    ),
    "checkout.started": st.fixed_dictionaries({"cart_id": carts, "value": money}),
    "order.placed": st.fixed_dictionaries(
        {
            "order_id": orders,
            "value": money,
            "items": st.integers(1, 3),
            "pickup_store_id": st.none() | stores,
        }
    ),
    "review.posted": st.fixed_dictionaries({"rating": st.integers(1, 5)}),
    "qr.opened": st.fixed_dictionaries(
        {"campaign_id": campaigns, "token_kind": st.just("r"), "token_hash": st.just("ab" * 16)}
    ),
    "survey.answered": st.fixed_dictionaries(
        {
            "context": st.sampled_from(["pickup", "visit"]),
            "rating": st.integers(1, 5),
            "reason": st.none() | st.sampled_from(["waited_long", "item_missing", "quick"]),
        }
    ),
}
assert set(DATA) == set(ALL_TYPES)

instants = st.integers(0, HORIZON).map(lambda n: T0 + n * QUARTER)


@st.composite
def a_fact(draw: st.DrawFn, event_id: str) -> Fact:
    type_ = draw(st.sampled_from(ALL_TYPES))
    kiosk = type_ in KIOSK_TYPES
    store = draw(stores) if kiosk else None
    return Fact(
        event_id=event_id,
        type=type_,
        v=1,
        occurred_at=draw(instants),
        channel="kiosk" if kiosk else draw(st.sampled_from(["email", "web", "app", "pos"])),
        store_id=store,
        device_id=f"{store}-k1" if store else None,
        session_id=None,
        campaign_id=draw(st.none() | st.none() | campaigns),
        data=validated(type_, draw(DATA[type_])),
    )


@st.composite
def a_profile(draw: st.DrawFn, profile: int) -> list[Fact]:
    n = draw(st.integers(0, 25))
    return [draw(a_fact(f"00000000-0000-7000-8{profile:03d}-{i:012d}")) for i in range(n)]


@st.composite
def shuffled_with_duplicates(draw: st.DrawFn, facts: list[Fact]) -> list[Fact]:
    dups = draw(st.lists(st.sampled_from(facts), max_size=10)) if facts else []
    return draw(st.permutations(facts + dups))


def everything(facts: list[Fact], now: datetime) -> tuple:
    rules = DEFAULT_JOURNEY_RULES
    return (
        touchpoints(facts, rules),
        stage_history(facts, rules),
        findings(facts, rules, now),
        timeline(facts, rules, now),
    )


@settings(max_examples=300, deadline=None, database=None)
@given(st.data())
def test_any_permutation_and_duplication_gives_the_same_journey(data: st.DataObject) -> None:
    profiles = [data.draw(a_profile(p)) for p in range(data.draw(st.integers(1, 4)))]
    now = data.draw(instants)
    mixed = [data.draw(shuffled_with_duplicates(facts)) for facts in profiles]

    for facts, other in zip(profiles, mixed, strict=True):
        assert everything(other, now) == everything(facts, now)

    rows = [r for p, facts in enumerate(profiles) for r in rows_for(f"p{p}", stage_history(facts))]
    rows_mixed = data.draw(
        shuffled_with_duplicates(
            [r for p, facts in enumerate(mixed) for r in rows_for(f"p{p}", stage_history(facts))]
        )
    )
    filters = {
        "campaign": data.draw(st.none() | campaigns),
        "store": data.draw(st.none() | stores),
        "start": data.draw(st.none() | instants),
        "end": data.draw(st.none() | instants),
    }
    assert funnel(rows_mixed, **filters) == funnel(rows, **filters)


@settings(max_examples=300, deadline=None, database=None)
@given(st.data())
def test_journey_invariants(data: st.DataObject) -> None:
    facts = data.draw(a_profile(0))
    now = data.draw(instants)
    journey = timeline(facts, DEFAULT_JOURNEY_RULES, now)

    # stages: a prefix of the funnel, reached in time order, ending at the current stage
    assert [s.stage for s in journey.stages] == list(STAGES[: len(journey.stages)])
    times = [s.first_reached_at for s in journey.stages]
    assert times == sorted(times)
    assert journey.current_stage == (journey.stages[-1].stage if journey.stages else None)
    # stages never go back: every prefix of the facts is at or below the full set's stage
    by_time = sorted(facts, key=lambda f: f.sort_key)
    reached = -1
    for k in range(len(by_time) + 1):
        here = len(stage_history(by_time[:k])) - 1
        assert here >= reached
        reached = here
    # friction is never reported before its window has ended
    assert all(f.at <= now for f in journey.friction)
    assert journey.friction == sorted(journey.friction, key=lambda f: (f.at, f.kind, f.event_id))

    f = funnel(rows_for("p", journey.stages))
    profiles = [s.profiles for s in f.stages]
    assert profiles == sorted(profiles, reverse=True)
    assert sum(s.drop_off_from_previous for s in f.stages) + profiles[-1] == profiles[0]
