"""Properties of the campaign funnel's crediting and of first/last-touch attribution:
order-independent, inside the window, each conversion credited once per model."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from central_api.domain.campaigns.attribution import (
    Conversion,
    OrderEvent,
    Scan,
    conversions,
    credit,
)
from central_api.domain.journeys.journey_rules import STAGES, campaign_of
from central_api.domain.journeys.journeys import campaign_stage_history
from tests.central.journeys.factory import T0
from tests.central.journeys.test_properties import (
    QUARTER,
    a_profile,
    instants,
    shuffled_with_duplicates,
)

windows = st.sampled_from([0.0, 0.5, 3.0, 14.0, 30.0])


@settings(max_examples=300, deadline=None, database=None)
@given(st.data())
def test_campaign_stages_are_order_independent_and_inside_the_window(
    data: st.DataObject,
) -> None:
    facts = data.draw(a_profile(0))
    mixed = data.draw(shuffled_with_duplicates(facts))
    campaign = data.draw(st.sampled_from(["c1", "c2"]))
    days = data.draw(windows)
    history = campaign_stage_history(facts, campaign, window_days=days)
    assert campaign_stage_history(mixed, campaign, window_days=days) == history
    assert [s.stage for s in history] == list(STAGES[: len(history)])
    assert all(s.campaign_id == campaign for s in history)
    touches = sorted(f.sort_key for f in facts if campaign_of(f) == campaign)
    if not touches:
        assert history == []
    by_id = {f.event_id: f for f in facts}
    for s in history:
        reached_by = by_id[s.event_id]
        # at or after a touch of the campaign, and less than the window after the latest
        before = [t for t in touches if t <= reached_by.sort_key]
        assert before
        latest = before[-1][0]
        assert s.first_reached_at == latest or s.first_reached_at - latest < timedelta(days=days)


scans_st = st.lists(
    st.builds(
        Scan,
        profile_id=st.sampled_from(["p1", "p2"]),
        at=instants,
        event_id=st.uuids().map(str),
        campaign_id=st.sampled_from(["A", "B"]),
        store_id=st.sampled_from(["s1", "s2"]),
    ),
    max_size=12,
)
orders_st = st.lists(
    st.builds(
        OrderEvent,
        profile_id=st.sampled_from(["p1", "p2"]),
        order_id=st.sampled_from(["o1", "o2", "o3"]),
        at=instants,
        event_id=st.uuids().map(str),
        kind=st.sampled_from(["order", "pickup"]),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None, database=None)
@given(scans_st, orders_st, windows, st.randoms(use_true_random=False))
def test_each_conversion_is_credited_once_per_model(scans, order_events, days, rnd) -> None:
    convs = conversions(order_events)
    assert len(convs) == len({(e.profile_id, e.order_id) for e in order_events})
    window = timedelta(days=days)
    first = credit(scans, convs, "first", window)
    last = credit(scans, convs, "last", window)
    shuffled = list(scans)
    rnd.shuffle(shuffled)
    assert credit(shuffled, convs, "first", window) == first
    assert credit(shuffled, convs, "last", window) == last
    assert [c for c, _ in first] == [c for c, _ in last] == convs
    for (c, f), (_, lt) in zip(first, last, strict=True):
        assert (f is None) == (lt is None)
        eligible = [s for s in scans if s.profile_id == c.profile_id
                    and s.at <= c.at and c.at - s.at < window]  # fmt: skip
        if f is None:
            assert not eligible
            continue
        assert f.profile_id == lt.profile_id == c.profile_id
        key = lambda s: (s.at, s.event_id)  # noqa: E731
        assert f == min(eligible, key=key) and lt == max(eligible, key=key)


def test_an_order_placed_and_picked_up_is_one_conversion_at_the_earlier() -> None:
    placed = OrderEvent("p1", "o1", T0, "e2", "order")
    picked = OrderEvent("p1", "o1", T0 + 8 * QUARTER, "e1", "pickup")
    lone = OrderEvent("p1", "o2", T0 + QUARTER, "e3", "pickup")
    assert conversions([picked, placed, lone]) == [
        Conversion("p1", "o1", T0, "e2", "order"),
        Conversion("p1", "o2", T0 + QUARTER, "e3", "pickup"),
    ]
