"""``GET /api/v1/funnel?campaign=…``: a campaign is credited with what follows its events
within the attribution window, in the kiosk session and online, through the real ingest.

Before, the campaign's funnel read 0 at every stage for a shopper who searched and
browsed at the kiosk before scanning the campaign's code: those facts reached the early
stages first, they carry no campaign, and each stage had room for one campaign only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central_api.ingest import Ingestor
from central_api.store.profile_tables import stages_reached
from tests.central.api.conftest import bearer

from .world import World

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SEARCH = ("product.searched", {"query": "boots", "results": 4, "in_stock_results": 2})
VIEW = ("product.viewed", {"sku": "SKU-9", "source": "search", "in_stock": True})


def scan(campaign: str) -> tuple[str, dict]:
    return ("campaign.scanned", {"campaign_id": campaign})


@pytest.fixture
def world(engine, client, keys) -> World:
    return World(engine, Ingestor(engine), client, keys)


def counts(w: World, **params) -> list[int]:
    r = w.client.get("/api/v1/funnel", params=params, headers=bearer(w.keys.marketer))
    assert r.status_code == 200, r.text
    stages = r.json()["stages"]
    assert (
        sum(s["drop_off_from_previous"] for s in stages) + stages[-1]["profiles"]
        == (stages[0]["profiles"])
    )
    return [s["profiles"] for s in stages]


def test_browsing_before_the_scan_no_longer_hides_the_campaign(world: World) -> None:
    world.customer("C1", T0 - timedelta(days=1))
    world.visit("C1", "s1", T0, [SEARCH, VIEW, scan("X")])
    with world.engine.connect() as c:
        credited = {r.campaign_id for r in c.execute(stages_reached.select())}
    assert credited == {None}  # the profile's own stages name no campaign…
    assert counts(world, campaign="X") == [1, 1, 0, 0, 0, 0]  # …X's funnel has the scan


@pytest.mark.parametrize(
    ("order_after", "params", "expected"),
    [
        (timedelta(days=3), {}, [1, 1, 1, 1, 0, 0]),
        (timedelta(days=29, hours=23), {}, [1, 1, 1, 1, 0, 0]),  # the rules' window: 30 d
        (timedelta(days=40), {}, [1, 1, 1, 0, 0, 0]),
        (timedelta(days=40), {"window_days": 45}, [1, 1, 1, 1, 0, 0]),
        (timedelta(days=3), {"window_days": 2}, [1, 1, 1, 0, 0, 0]),
    ],
)
def test_scan_link_views_then_an_online_order(
    world: World, order_after: timedelta, params: dict, expected: list[int]
) -> None:
    """Scan at the kiosk, check in, view products in the same session (desire), order
    online later (action): in the window the order counts for X, outside it not."""
    world.customer("C1", T0 - timedelta(days=1))
    world.visit("C1", "s1", T0, [scan("X"), VIEW])
    world.order("C1", "o1", T0 + order_after)
    assert counts(world, campaign="X", **params) == expected
    assert counts(world, campaign="X", store="s1", **params) == expected
    assert counts(world, campaign="Y", **params) == [0] * 6


def test_each_touch_opens_the_window_again_and_other_campaigns_keep_theirs(
    world: World,
) -> None:
    world.customer("C1", T0 - timedelta(days=1))
    world.customer("C2", T0 - timedelta(days=1))
    # C1: an email of Y first, the kiosk scan of X a week later, an order 25 days after
    # the email: X (7 + 18 = 25 d after the email) gets it, and so does Y (25 < 30 d).
    world.online("C1", "email.clicked",
                 {"campaign_id": "Y", "message_id": "m1", "url": "https://shop.example/y"},
                 T0, channel="email")  # fmt: skip
    world.visit("C1", "s2", T0 + timedelta(days=7), [scan("X")])
    world.order("C1", "o1", T0 + timedelta(days=25))
    # C2: scanned X, then again 20 days later; ordered 45 days after the first scan.
    world.visit("C2", "s1", T0, [scan("X")])
    world.visit("C2", "s1", T0 + timedelta(days=20), [scan("X")])
    world.order("C2", "o2", T0 + timedelta(days=45))
    assert counts(world, campaign="X") == [2, 2, 2, 2, 0, 0]
    assert counts(world, campaign="X", store="s2") == [1, 1, 1, 1, 0, 0]
    assert counts(world, campaign="Y") == [1, 1, 1, 1, 0, 0]
    assert counts(world, campaign="Y", window_days=20) == [1, 1, 0, 0, 0, 0]
    # by time: C2's order (T0 + 45 d) is its only stage after T0 + 40 d
    start = (T0 + timedelta(days=40)).isoformat()
    assert counts(world, campaign="X", start=start) == [1, 1, 1, 1, 0, 0]


def test_without_consent_there_is_no_campaign_funnel(world: World) -> None:
    world.customer("C1", T0 - timedelta(days=1), consent=False)
    world.visit("C1", "s1", T0, [scan("X"), VIEW])
    world.order("C1", "o1", T0 + timedelta(days=1))
    assert counts(world, campaign="X") == [0] * 6
    r = world.client.get("/api/v1/funnel", params={"campaign": "X"},
                         headers=bearer(world.keys.marketer))  # fmt: skip
    assert r.json()["campaign_scans"] == 1  # the anonymous count needs none
