"""Attribution numbers on a hand-checked scenario, first touch and last touch.

T0 = 2026-11-02 10:00 UTC; "d5" is T0 + 5 days; window 14 days (a scan credits what
happens at or after it and *less than* 14 days later). Campaigns A and B; stores s1, s2.
Every scan is a kiosk session with ``campaign.scanned`` and then the QR check-in
(``visit.linked``), so the scan is held by the profile. P1–P4 gave profiling consent
online; P5 refused.

======  =====================================  ==========================================
who     scans (campaign/store at time)          orders and pickups
======  =====================================  ==========================================
P1      A/s1 d0, B/s2 d3                        o1 placed online d5
P2      B/s1 d1                                 o3 picked up at s1 d2 (never seen placed,
                                                in a linked session); o2 placed d20
P3      A/s2 d2, B/s1 d9                        o4 placed d0 (before any scan), picked up
                                                at s2 d4; o5 placed d10
P4      A/s1 d0                                 o6 placed d13 + 23 h; o7 placed d14
P5      A/s1 d1 (no consent)                    o8 placed d2
======  =====================================  ==========================================

Conversions (one per order, at its earliest event) and their credit:

======  ======  ===================  =========  =========  =================================
order   time    scans in window      first      last       why
======  ======  ===================  =========  =========  =================================
o1      d5      A/s1 d0, B/s2 d3     A/s1       B/s2
o3      d2      B/s1 d1              B/s1       B/s1       a pickup conversion
o2      d20     (B/s1 d1: 19 d)      —          —          outside the window
o4      d0      none before d0       —          —          placed before the scan; its
                                                           pickup at d4 is the same order
o5      d10     A/s2 d2, B/s1 d9     A/s2       B/s1
o6      d13+23h A/s1 d0              A/s1       A/s1       23 h inside the window
o7      d14     (A/s1 d0: 14 d)      —          —          exactly 14 d: not less than
o8      d2      —                    —          —          P5 has no consent
======  ======  ===================  =========  =========  =================================

Rows (scans: anonymous counters, P5's included; profiles: distinct consenting scanners):

=======  =====  ========  =================  =================
row      scans  profiles  first: conv (o/p)  last: conv (o/p)
=======  =====  ========  =================  =================
A/s1     3      2 P1 P4   2 (2/0) o1 o6      1 (1/0) o6
A/s2     1      1 P3      1 (1/0) o5         0
B/s1     2      2 P2 P3   1 (0/1) o3         2 (1/1) o3 o5
B/s2     1      1 P1      0                  1 (1/0) o1
total    7      4         4 (3/1)            4 (3/1)
=======  =====  ========  =================  =================

With ``start = d6`` and ``end = d14`` (conversions and scanning profiles by time, scan
counters by the UTC days 2026-11-08..16): conversions o5 (d10) and o6 (d13+23h); P3's
scan B/s1 d9 is the only scan. First touch: A/s1 1 (o6), A/s2 1 (o5), B/s1 0 with 1 scan
and 1 profile. Last touch: A/s1 1 (o6), B/s1 1 (o5) with 1 scan and 1 profile.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from central_api.ingest import Ingestor
from edge_sync.protocol import format_ts
from tests.central.api.conftest import bearer

from .world import World, pickup

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def d(days: float, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


@pytest.fixture
def scenario(engine, client, keys) -> World:
    w = World(engine, Ingestor(engine), client, keys)
    for name in ("P1", "P2", "P3", "P4"):
        w.customer(name, d(-1))
    w.customer("P5", d(-1), consent=False)
    w.scan("P1", "A", "s1", d(0))
    w.scan("P1", "B", "s2", d(3))
    w.order("P1", "o1", d(5))
    w.scan("P2", "B", "s1", d(1))
    w.visit("P2", "s1", d(2), [pickup("o3")])
    w.order("P2", "o2", d(20))
    w.order("P3", "o4", d(0), pickup_store_id="s2")
    w.scan("P3", "A", "s2", d(2))
    w.visit("P3", "s2", d(4), [pickup("o4")])
    w.scan("P3", "B", "s1", d(9))
    w.order("P3", "o5", d(10))
    w.scan("P4", "A", "s1", d(0))
    w.order("P4", "o6", d(13, 23))
    w.order("P4", "o7", d(14))
    w.scan("P5", "A", "s1", d(1))
    w.order("P5", "o8", d(2))
    return w


def report(w: World, **params) -> dict:
    r = w.client.get("/api/v1/campaign-reports/attribution",
                     params={"window_days": 14, **params}, headers=bearer(w.keys.marketer))  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def table(doc: dict) -> dict[str, tuple[int, ...]]:
    return {f"{r['campaign_id']}/{r['store_id']}":
            (r["scans"], r["profiles"], r["conversions"], r["orders"], r["pickups"])
            for r in doc["rows"]}  # fmt: skip


FIRST = {"A/s1": (3, 2, 2, 2, 0), "A/s2": (1, 1, 1, 1, 0), "B/s1": (2, 2, 1, 0, 1),
         "B/s2": (1, 1, 0, 0, 0)}  # fmt: skip
LAST = {"A/s1": (3, 2, 1, 1, 0), "A/s2": (1, 1, 0, 0, 0), "B/s1": (2, 2, 2, 1, 1),
        "B/s2": (1, 1, 1, 1, 0)}  # fmt: skip


@pytest.mark.parametrize(("model", "expected"), [("first", FIRST), ("last", LAST)])
def test_the_hand_checked_numbers(scenario: World, model: str, expected: dict) -> None:
    doc = report(scenario, model=model)
    assert doc["model"] == model and doc["window_days"] == 14
    assert table(doc) == expected
    assert doc["totals"] == {"scans": 7, "conversions": 4, "orders": 3, "pickups": 1,
                             "distinct_profiles": 4}  # fmt: skip
    # the totals are the rows' sums
    for k in ("scans", "conversions", "orders", "pickups"):
        assert doc["totals"][k] == sum(r[k] for r in doc["rows"])


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first", {"A/s1": (0, 0, 1, 1, 0), "A/s2": (0, 0, 1, 1, 0), "B/s1": (1, 1, 0, 0, 0)}),
        ("last", {"A/s1": (0, 0, 1, 1, 0), "B/s1": (1, 1, 1, 1, 0)}),
    ],
)
def test_the_numbers_within_a_range(scenario: World, model: str, expected: dict) -> None:
    doc = report(scenario, model=model, start=format_ts(d(6)), end=format_ts(d(14)))
    assert table(doc) == expected
    assert doc["totals"]["conversions"] == 2


def test_filters_choose_rows_not_credit(scenario: World) -> None:
    """A conversion credited to B stays B's when the report asks for A only."""
    doc = report(scenario, model="last", campaign="A")
    assert table(doc) == {k: v for k, v in LAST.items() if k.startswith("A/")}
    assert doc["totals"]["conversions"] == 1
    assert table(report(scenario, model="first", store="s2")) == {
        k: v for k, v in FIRST.items() if k.endswith("/s2")
    }


def test_a_longer_window_credits_the_late_orders(scenario: World) -> None:
    """30 days: o2 (19 d after B/s1) and o7 (14 d after A/s1) come in; o4 still not."""
    doc = report(scenario, model="first", window_days=30)
    assert table(doc)["B/s1"][2] == 2 and table(doc)["A/s1"][2] == 3
    assert doc["totals"]["conversions"] == 6


def test_the_csv_export_has_the_same_rows(scenario: World) -> None:
    r = scenario.client.get("/api/v1/campaign-reports/attribution.csv",
                            params={"window_days": 14, "model": "first"},
                            headers=bearer(scenario.keys.marketer))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attribution-first" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {f"{x['campaign_id']}/{x['store_id']}":
            tuple(int(x[k]) for k in ("scans", "profiles", "conversions", "orders", "pickups"))
            for x in rows} == FIRST  # fmt: skip
