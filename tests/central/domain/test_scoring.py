"""The ledger and its totals: each rule feature, decay by hand, explain = totals."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from central_api.domain.scoring.rules import RuleSet, default_rules
from central_api.domain.scoring.scoring import (
    LedgerLine,
    decay_anchor,
    decayed_at,
    derive_ledger,
    explain,
    score_totals,
)

from .gen import T0, fact

DAY = timedelta(days=1)


def rules(body: str, half_life: str = "30") -> RuleSet:
    return RuleSet.from_toml_text(f'version = "t1"\nhalf_life_days = {half_life}\n{body}')


def one_rule(event: str, points: int = 5, extra: str = "", group: str = "g") -> RuleSet:
    return rules(
        f'[[scoring.rules]]\nid = "r"\nevent = "{event}"\npoints = {points}\ngroup = "{group}"\n{extra}'
    )


def awarded(facts, rs: RuleSet) -> list[tuple[str, int]]:
    return [(ln.event_id, ln.points) for ln in derive_ledger(facts, rs)]


def test_a_line_per_matching_rule() -> None:
    f = fact("order.placed", data={"order_id": "o1", "value": 300.0, "items": 2})
    ledger = derive_ledger([f], default_rules())
    assert [(ln.rule_id, ln.points, ln.group) for ln in ledger] == [
        ("web.order", 25, "web"),
        ("web.big_order", 10, "web"),
    ]
    assert all(ln.rules_version == "2026.2" and ln.occurred_at == f.occurred_at for ln in ledger)


def test_other_event_types_earn_nothing() -> None:
    assert (
        derive_ledger([fact("web.visited"), fact("session.started")], one_rule("order.placed"))
        == []
    )


def test_always_repeats_and_negative_points() -> None:
    rs = one_rule("pickup.refused", points=-3)
    fs = [fact("pickup.refused", i * DAY) for i in range(3)]
    assert awarded(fs, rs) == [(f.event_id, -3) for f in fs]
    assert score_totals(derive_ledger(fs, rs), rs, T0 + 2 * DAY).total_raw == -9


def test_once_is_the_earliest_matching_fact_whatever_the_input_order() -> None:
    rs = one_rule("web.visited", extra='repeat = "once"\nwhen = { channel = "web" }\n')
    early_app = fact("web.visited", DAY, channel="app", id="0")  # earliest, but not on the web
    # two at the same earliest matching time: the smaller event id wins
    tie_a = fact("web.visited", 2 * DAY, id="a")
    tie_b = fact("web.visited", 2 * DAY, id="b")
    late = fact("web.visited", 3 * DAY, id="0late")
    fs = [late, early_app, tie_b, tie_a]
    for _ in range(5):
        random.shuffle(fs)
        assert awarded(fs, rs) == [("a", 5)]


def test_once_per_campaign_store_session_and_field() -> None:
    rs = one_rule("campaign.scanned", extra='repeat = "once_per_campaign"\n')
    fs = [
        fact("campaign.scanned", 0 * DAY, {"campaign_id": "c1"}, id="1"),
        fact("campaign.scanned", 1 * DAY, {"campaign_id": "c1"}, id="2"),
        fact("campaign.scanned", 2 * DAY, {"campaign_id": "c2"}, id="3"),
    ]
    assert awarded(fs, rs) == [("1", 5), ("3", 5)]

    rs = one_rule("product.viewed", extra='repeat = "once_per_store"\n')
    fs = [
        fact("product.viewed", 0 * DAY, store="s1", id="1"),
        fact("product.viewed", 1 * DAY, store="s2", id="2"),
        fact("product.viewed", 2 * DAY, store="s1", id="3"),
    ]
    assert awarded(fs, rs) == [("1", 5), ("2", 5)]

    rs = one_rule("product.searched", extra='repeat = "once_per_session"\n')
    fs = [
        fact("product.searched", 0 * DAY, session="a", id="1"),
        fact("product.searched", 1 * DAY, session="a", id="2"),
        fact("product.searched", 2 * DAY, session=None, id="3"),  # no key: never matches
        fact("product.searched", 3 * DAY, session="b", id="4"),
    ]
    assert awarded(fs, rs) == [("1", 5), ("4", 5)]

    rs = one_rule("order.placed", extra='repeat = "once_per_field"\nper_field = "order_id"\n')
    data = {"order_id": "o1", "value": 1.0, "items": 1}
    fs = [
        fact("order.placed", 0 * DAY, data, id="1"),
        fact("order.placed", 1 * DAY, data, id="2"),  # the shop resent it under a new id
        fact("order.placed", 2 * DAY, {**data, "order_id": "o2"}, id="3"),
    ]
    assert awarded(fs, rs) == [("1", 5), ("3", 5)]


def test_once_per_campaign_without_a_campaign_never_matches() -> None:
    rs = one_rule("web.visited", extra='repeat = "once_per_campaign"\n')
    assert awarded([fact("web.visited"), fact("web.visited", DAY)], rs) == []
    assert awarded([fact("web.visited", campaign="c9", id="x")], rs) == [("x", 5)]


def test_cap_per_day_cuts_the_last_award_and_resets_at_utc_midnight() -> None:
    rs = one_rule("product.searched", points=2, extra='cap = { points = 5, period = "day" }\n')
    day1 = [fact("product.searched", timedelta(hours=h), id=f"a{h}") for h in range(4)]
    # 23:30 at UTC-02:00 is 01:30 UTC the next day
    minus2 = timezone(timedelta(hours=-2))
    late_local = fact("product.searched", datetime(2026, 3, 2, 23, 30, tzinfo=minus2), id="b0")
    day2 = [late_local, fact("product.searched", DAY + timedelta(hours=5), id="b1")]
    assert awarded(day1 + day2, rs) == [("a0", 2), ("a1", 2), ("a2", 1), ("b0", 2), ("b1", 2)]


def test_cap_per_iso_week() -> None:
    rs = one_rule("email.opened", points=2, extra='cap = { points = 3, period = "week" }\n')
    sunday = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # T0 is Monday 2 March
    monday = datetime(2026, 3, 9, 0, 30, tzinfo=UTC)
    fs = [
        fact("email.opened", T0, id="1"),
        fact("email.opened", sunday, id="2"),
        fact("email.opened", sunday, id="3"),
        fact("email.opened", monday, id="4"),
    ]
    assert awarded(fs, rs) == [("1", 2), ("2", 1), ("4", 2)]


def test_cap_per_month_and_for_negative_points() -> None:
    rs = one_rule("review.posted", points=-4, extra='cap = { points = 10, period = "month" }\n')
    march = [fact("review.posted", i * DAY, id=f"m{i}") for i in range(4)]
    april = [fact("review.posted", datetime(2026, 4, 1, tzinfo=UTC), id="a0")]
    assert awarded(march + april, rs) == [("m0", -4), ("m1", -4), ("m2", -2), ("a0", -4)]


def test_when_channel_store_and_campaign() -> None:
    rs = one_rule("web.visited", extra='when = { channel = ["web", "app"] }\n')
    fs = [fact("web.visited", channel=c, id=c) for c in ("web", "app", "email")]
    assert awarded(fs, rs) == [("app", 5), ("web", 5)]

    rs = one_rule("product.viewed", extra='when = { store = ["s1", "s3"] }\n')
    fs = [fact("product.viewed", store=s, id=s) for s in ("s1", "s2", "s3")]
    assert awarded(fs, rs) == [("s1", 5), ("s3", 5)]

    rs = one_rule("web.visited", extra='when = { campaign = "c1" }\n')
    fs = [
        fact("web.visited", data={"url": "u", "campaign_id": "c1"}, id="data"),
        fact("web.visited", campaign="c1", id="fact"),
        fact("web.visited", campaign="c2", id="other"),
        fact("web.visited", id="none"),
    ]
    assert awarded(fs, rs) == [("data", 5), ("fact", 5)]


@pytest.mark.parametrize(
    ("test", "matching"),
    [
        ("{ rating = 4 }", "4"),
        ("{ rating = { ne = 4 } }", "1 2 3 5 3n"),
        ("{ rating = { gt = 3 } }", "4 5"),
        ("{ rating = { gte = 3 } }", "3 4 5 3n"),
        ("{ rating = { lt = 2 } }", "1"),
        ("{ rating = { lte = 2 } }", "1 2"),
        ("{ rating = { gte = 2, lt = 4 } }", "2 3 3n"),
        ("{ rating = { in = [1, 5] } }", "1 5"),
        ("{ order_id = { exists = true } }", "1 2 3 4 5"),
        ("{ order_id = { exists = false } }", "3n"),
        ('{ order_id = { ne = "o1" } }', "3n"),
        ('{ order_id = "o1" }', "1 2 3 4 5"),
        ('{ order_id = { in = ["o1"] } }', "1 2 3 4 5"),
        ("{ order_id = { gt = 0 } }", ""),
    ],
)
def test_when_data_ops(test: str, matching: str) -> None:
    rs = one_rule("review.posted", extra=f"when = {{ data = {test} }}\n")
    fs = [
        fact("review.posted", data={"rating": r, "order_id": "o1"}, id=str(r)) for r in range(1, 6)
    ]
    fs.append(fact("review.posted", data={"rating": 3}, id="3n"))  # no order_id
    assert {ln.event_id for ln in derive_ledger(fs, rs)} == set(matching.split())


def test_booleans_never_equal_numbers() -> None:
    rs = one_rule("product.viewed", extra="when = { data = { in_stock = 1 } }\n")
    assert awarded([fact("product.viewed")], rs) == []
    rs = one_rule("product.viewed", extra="when = { data = { in_stock = true } }\n")
    assert len(awarded([fact("product.viewed")], rs)) == 1
    rs = one_rule("product.viewed", extra="when = { data = { in_stock = { gt = 0 } } }\n")
    assert awarded([fact("product.viewed")], rs) == []


def test_duplicates_count_once() -> None:
    f = fact("order.placed")
    rs = one_rule("order.placed")
    assert derive_ledger([f, f, f], rs) == derive_ledger([f], rs)


# -- decay ----------------------------------------------------------------------------------


def line(points: int, at: timedelta, group: str = "g", eid: str | None = None) -> LedgerLine:
    return LedgerLine(eid or f"e{at}", "r", "t1", group, points, T0 + at)


def test_decay_by_hand() -> None:
    rs = rules("", half_life="30")
    ledger = [line(10, timedelta(0))]
    assert score_totals(ledger, rs, T0).total_decayed == 10.0
    assert score_totals(ledger, rs, T0 + 30 * DAY).total_decayed == 5.0
    assert score_totals(ledger, rs, T0 + 60 * DAY).total_decayed == 2.5
    assert score_totals(ledger, rs, T0 + 15 * DAY).total_decayed == pytest.approx(10 / math.sqrt(2))
    two = [line(10, timedelta(0)), line(10, 30 * DAY)]
    assert score_totals(two, rs, T0 + 30 * DAY).total_decayed == 15.0
    assert score_totals(two, rs, T0 + 60 * DAY).total_decayed == 7.5
    assert score_totals(two, rs, T0 + 60 * DAY).total_raw == 20


def test_no_decay_with_an_infinite_half_life() -> None:
    rs = rules("", half_life="inf")
    assert score_totals([line(10, timedelta(0))], rs, T0 + 9999 * DAY).total_decayed == 10.0


def test_lines_after_at_are_excluded_from_every_total() -> None:
    rs = rules("", half_life="30")
    ledger = [line(10, timedelta(0), "a"), line(7, DAY, "b")]
    s = score_totals(ledger, rs, T0 + timedelta(hours=1))
    assert (s.total_raw, s.by_group_raw) == (10, {"a": 10})
    assert s.by_group_decayed == {"a": pytest.approx(10 * 2 ** (-1 / 720))}
    e = explain(ledger, rs, T0 + timedelta(hours=1))
    assert [x.line.points for x in e.lines] == [10] and e.later_lines == 1


def test_groups_and_totals() -> None:
    rs = default_rules()
    fs = [
        fact("order.placed", timedelta(0)),
        fact("email.clicked", DAY),
        fact("campaign.scanned", 2 * DAY),
    ]
    s = score_totals(derive_ledger(fs, rs), rs, T0 + 2 * DAY)
    assert s.by_group_raw == {"email": 5, "in_store": 15, "web": 25}
    assert s.total_raw == 45
    assert s.by_group_decayed["in_store"] == 15.0
    assert s.by_group_decayed["web"] == pytest.approx(25 * 2 ** (-2 / 30))
    assert s.by_group_decayed["email"] == pytest.approx(5 * 2 ** (-1 / 30))
    assert s.total_decayed == pytest.approx(sum(s.by_group_decayed.values()))


def test_explain_totals_equal_score_totals_exactly() -> None:
    rs = rules("", half_life="7.3")
    rnd = random.Random(7)
    ledger = [
        line(
            rnd.choice([-5, 1, 2, 3, 25]), timedelta(seconds=rnd.randrange(90 * 86400)), g, f"e{i}"
        )
        for i, g in enumerate(rnd.choice("abc") for _ in range(300))
    ]
    at = T0 + 91 * DAY
    e = explain(ledger, rs, at)
    s = score_totals(ledger, rs, at)
    assert e.scores == s
    assert math.fsum(x.decayed for x in e.lines) == s.total_decayed
    assert sum(x.line.points for x in e.lines) == s.total_raw
    for g in "abc":
        assert math.fsum(x.decayed for x in e.lines if x.line.group == g) == s.by_group_decayed[g]
    shuffled = ledger[:]
    rnd.shuffle(shuffled)
    assert score_totals(shuffled, rs, at) == s
    assert explain(shuffled, rs, at) == e


def test_decay_anchor() -> None:
    rs = rules("", half_life="30")
    assert decay_anchor([], rs) == (None, 0.0)
    assert decayed_at((None, 0.0), rs, T0) == 0.0
    ledger = [line(10, timedelta(0)), line(10, 30 * DAY)]
    ref, s = decay_anchor(ledger, rs)
    assert (ref, s) == (T0 + 30 * DAY, 15.0)
    assert decayed_at((ref, s), rs, T0 + 60 * DAY) == 7.5
    with pytest.raises(ValueError):
        decayed_at((ref, s), rs, T0)


def test_decay_anchor_agrees_with_score_totals() -> None:
    rs = rules("", half_life="11.5")
    rnd = random.Random(3)
    ledger = [
        line(rnd.randint(-10, 30), timedelta(seconds=rnd.randrange(200 * 86400)), eid=f"e{i}")
        for i in range(200)
    ]
    anchor = decay_anchor(ledger, rs)
    assert anchor == decay_anchor(reversed(ledger), rs)
    assert anchor[0] is not None
    for days in (0, 1, 10, 100):
        at = anchor[0] + days * DAY
        exact = score_totals(ledger, rs, at).total_decayed
        assert decayed_at(anchor, rs, at) == pytest.approx(exact, rel=1e-12, abs=1e-12)


def test_a_big_profile_is_fast_enough() -> None:
    import time

    rs = default_rules()
    types = ["product.searched", "product.viewed", "web.visited", "email.opened", "order.placed"]
    fs = [fact(types[i % 5], timedelta(minutes=37 * i)) for i in range(500)]
    start = time.perf_counter()
    for _ in range(20):
        derive_ledger(fs, rs)
    per_call = (time.perf_counter() - start) / 20
    assert per_call < 0.05, per_call  # typically ~1 ms; generous for slow CI machines
