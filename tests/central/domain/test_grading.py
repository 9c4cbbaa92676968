"""Grades: thirds of a letter per criterion, clamped at F and A+."""

from __future__ import annotations

import pytest

from central_api.domain.scoring.grading import grade, grade_at_least, grade_rank, move
from central_api.domain.scoring.rules import GRADES, RuleSet, default_rules


def rules(criteria: list[tuple[str, str, str, str, int]], start: str = "D") -> RuleSet:
    text = f'version = "g"\nhalf_life_days = 30\n[grading]\nstart = "{start}"\n'
    for cid, attr, op, value, steps in criteria:
        text += (
            f'[[grading.criteria]]\nid = "{cid}"\nattribute = "{attr}"\nop = "{op}"\n'
            f"value = {value}\nsteps = {steps}\n"
        )
    return RuleSet.from_toml_text(text)


def test_scale_and_ranks() -> None:
    assert GRADES[0] == "F" and GRADES[-1] == "A+" and len(GRADES) == 13
    assert [grade_rank(g) for g in GRADES] == list(range(13))
    with pytest.raises(ValueError):
        grade_rank("E")


@pytest.mark.parametrize(
    ("start", "steps", "letter"),
    [
        ("D", 0, "D"),
        ("D", 1, "D+"),
        ("D", 2, "C-"),
        ("D", 3, "C"),
        ("D", 6, "B"),
        ("D", -1, "D-"),
        ("D", -2, "F"),
        ("D", -9, "F"),
        ("B+", 3, "A+"),
        ("B+", 30, "A+"),
    ],
)
def test_move_by_thirds_and_clamp(start: str, steps: int, letter: str) -> None:
    assert move(start, steps) == letter


def test_at_least() -> None:
    assert grade_at_least("B", "B") and grade_at_least("B+", "B") and grade_at_least("A+", "F")
    assert not grade_at_least("B-", "B")


def test_criteria_add_up_and_clamp_once() -> None:
    r = rules(
        [
            ("big", "ltv", "gte", "1000", 9),
            ("near", "km", "lte", "10", 3),
            ("far", "km", "gt", "50", -4),
        ]
    )
    g = grade({"ltv": 5000, "km": 5}, r)
    assert (g.letter, g.steps, g.matched) == ("A+", 12, ["big", "near"])
    g = grade({"ltv": 5000, "km": 80}, r)  # 9 - 4 = 5 steps from D
    assert (g.letter, g.steps, g.matched) == ("B-", 5, ["big", "far"])
    # net steps are clamped once: a big plus and a big minus do not lose the minus
    g = grade({"x": 1, "y": 1}, rules([("a", "x", "eq", "1", 20), ("b", "y", "eq", "1", -20)]))
    assert (g.letter, g.steps) == ("D", 0)


def test_missing_or_null_attribute_does_not_apply() -> None:
    r = rules([("ltv", "ltv", "lt", "100", -2), ("seg", "segment", "ne", '"vip"', 1)])
    assert grade({}, r).letter == "D"
    assert grade({"ltv": None, "segment": None}, r).matched == []
    assert grade({"ltv": 50}, r).letter == "F"


def test_ops() -> None:
    r = rules(
        [
            ("eq", "segment", "eq", '"loyal"', 1),
            ("ne", "segment", "ne", '"lapsed"', 1),
            ("in", "region", "in", '["north", "east"]', 1),
            ("gt", "n", "gt", "5", 1),
            ("lte", "n", "lte", "5", -1),
        ]
    )
    assert grade({"segment": "loyal", "region": "east", "n": 6}, r).matched == [
        "eq",
        "ne",
        "in",
        "gt",
    ]
    assert grade({"segment": "lapsed", "region": "west", "n": 5}, r).matched == ["lte"]
    # ordering ops need numbers; a string attribute does not match them
    assert grade({"n": "6"}, r).matched == []
    # booleans are not numbers and never equal 1
    assert grade({"n": True, "region": 1}, r).matched == []


def test_default_rules_grades() -> None:
    r = default_rules()
    assert grade({}, r).letter == "D"
    # D +2 (ltv ≥ 100) +2 (loyal) +2 (near) +1 (3 email events) = B+
    good = {"lifetime_value": 400, "segment": "loyal", "distance_km": 5, "email_engagement_90d": 3}
    assert grade(good, r).letter == "B+"
    best = {"lifetime_value": 4000, "orders": 5, "segment": "vip", "distance_km": 1,
            "email_engagement_90d": 9, "store_visits": 6}  # fmt: skip
    assert grade(best, r).letter == "A+"
    # a shopper the kiosk alone knows: two visits, two campaigns
    assert grade({"store_visits": 2, "campaigns_scanned": 2}, r).letter == "C-"
    assert grade({"lifetime_value": 150, "bad_reviews": 1}, r).letter == "D"
    worst = {"segment": "lapsed", "distance_km": 300}
    assert grade(worst, r).letter == "F"


def test_grade_object() -> None:
    g = grade({"x": 1}, rules([("a", "x", "eq", "1", 3)], start="C"))
    assert g.letter == "B" and g.rank == grade_rank("B")
    assert g.at_least("B") and not g.at_least("B+")
