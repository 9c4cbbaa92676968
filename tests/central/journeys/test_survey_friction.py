"""``survey.answered`` as friction: a low rating is a ``low_rating`` finding, at the
answer's time, with its reason; the threshold and the kind are the rules' to change."""

from __future__ import annotations

from datetime import timedelta

from central_api.domain.journeys.friction import findings
from central_api.domain.journeys.journey_rules import DEFAULT_JOURNEY_RULES, JourneyRules
from central_api.domain.journeys.journeys import touchpoints

from .factory import T0, make


def _survey(rating: int, **data):
    return make("survey.answered", T0, {"rating": rating, **data})


def test_ratings_at_or_below_two_are_low_rating_findings_with_their_reason() -> None:
    facts = [_survey(n) for n in (1, 3, 4, 5)] + [
        _survey(2, context="pickup", reason="waited_long", order_id="o1")
    ]
    got = findings(facts, DEFAULT_JOURNEY_RULES, T0)
    assert sorted((f.detail["rating"], f.detail["reason"]) for f in got) == [
        (1, None), (2, "waited_long")
    ]  # fmt: skip
    [two] = [f for f in got if f.detail["rating"] == 2]
    assert two.kind == "low_rating" and two.at == T0 and two.event_id == facts[-1].event_id
    assert two.detail == {"store_id": "s042", "context": "pickup", "rating": 2,
                          "reason": "waited_long", "order_id": "o1"}  # fmt: skip


def test_not_reported_before_it_happened() -> None:
    assert findings([make("survey.answered", T0, {"rating": 1})], DEFAULT_JOURNEY_RULES,
                    T0 - timedelta(seconds=1)) == []  # fmt: skip


def test_threshold_and_disabling_come_from_the_rules() -> None:
    facts = [_survey(n) for n in (1, 2, 3)]
    three = JourneyRules.model_validate({"friction": {"low_rating_at_most": 3}})
    assert len(findings(facts, three, T0)) == 3
    off = JourneyRules.model_validate({"friction": {"disabled": ["low_rating"]}})
    assert findings(facts, off, T0) == []
    scans_off = JourneyRules.model_validate({"friction": {"disabled": ["scan_failed"]}})
    assert len(findings(facts, scans_off, T0)) == 2


def test_every_answer_is_a_feedback_touchpoint() -> None:
    facts = [_survey(1), _survey(5)]
    assert [t.task for t in touchpoints(facts)] == ["feedback", "feedback"]
