"""The ``[journey]`` rules table: defaults, validation, tasks and stage conditions."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from central_api.domain.journeys.journey_rules import (
    DEFAULT_JOURNEY_RULES,
    DEFAULT_JOURNEY_TOML,
    STAGES,
    JourneyRules,
)

from .factory import ALL_TYPES, BASE_DATA, make

EXPECTED_TASKS = {
    "session.started": None,
    "session.ended": None,
    "product.searched": "search",
    "product.viewed": "browse",
    "qr.scanned": "scan",
    "visit.linked": "check_in",
    "campaign.scanned": "campaign_scan",
    "pickup.confirmed": "pickup",
    "pickup.refused": "pickup_refused",
    "consent.recorded": "consent",
    "email.opened": "read_email",
    "email.clicked": "click_email",
    "web.visited": "browse_web",
    "cart.updated": "cart",
    "checkout.started": "checkout",
    "order.placed": "order",
    "review.posted": "review",
    "qr.opened": "open_campaign_link",
    "survey.answered": "feedback",
}


def test_every_event_type_has_a_default_task_decision() -> None:
    assert set(EXPECTED_TASKS) == set(ALL_TYPES) == set(BASE_DATA)


@pytest.mark.parametrize(("event_type", "task"), sorted(EXPECTED_TASKS.items()))
def test_default_task_per_type(event_type: str, task: str | None) -> None:
    assert DEFAULT_JOURNEY_RULES.task_of(event_type) == task


def test_defaults_are_the_documented_toml_and_the_no_argument_model() -> None:
    table = tomllib.loads(DEFAULT_JOURNEY_TOML)["journey"]
    assert JourneyRules.model_validate(table) == DEFAULT_JOURNEY_RULES == JourneyRules()
    assert DEFAULT_JOURNEY_RULES.friction.pickup_uncollected_after_hours == 72
    assert DEFAULT_JOURNEY_RULES.friction.campaign_no_visit_after_days == 14
    assert DEFAULT_JOURNEY_RULES.friction.checkout_abandoned_after_hours == 24


def test_a_partial_table_keeps_the_other_defaults() -> None:
    rules = JourneyRules.model_validate({"friction": {"checkout_abandoned_after_hours": 2}})
    assert rules.friction.checkout_abandoned_after_hours == 2
    assert rules.friction.pickup_uncollected_after_hours == 72
    assert rules.tasks == DEFAULT_JOURNEY_RULES.tasks
    assert rules.stages == DEFAULT_JOURNEY_RULES.stages


def test_exact_type_wins_over_prefix_and_empty_task_skips() -> None:
    rules = JourneyRules.model_validate(
        {"tasks": {"product.*": "shop", "product.viewed": "", "session.*": "session"}}
    )
    assert rules.task_of("product.searched") == "shop"
    assert rules.task_of("product.viewed") is None
    assert rules.task_of("session.ended") == "session"
    assert rules.task_of("order.placed") is None  # not listed: not a touchpoint


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ({"tasks": {"product.viewd": "browse"}}, "product.viewd"),
        ({"tasks": {"nothing.*": "x"}}, "nothing.*"),
        ({"tasks": {"product.viewed": "Browse Now"}}, "tasks.`product.viewed`"),
        ({"stages": [{"event": "order.placed", "stage": "purchase"}]}, "stages.0.stage"),
        ({"stages": [{"event": "order.placd", "stage": "action"}]}, "order.placd"),
        (
            {"stages": [{"event": "product.viewed", "stage": "desire", "data": {"instock": 1}}]},
            "instock",
        ),
        (
            {"stages": [{"event": "review.posted", "stage": "advocacy", "data": {"rating": {}}}]},
            "stages.0.data.rating",
        ),
        (
            {"stages": [{"event": "order.placed", "stage": "action", "channel": "fax"}]},
            "stages.0.channel",
        ),
        ({"friction": {"pickup_uncollected_after_hours": 0}}, "pickup_uncollected_after_hours"),
        ({"friction": {"store_visit_types": ["visit.linkd"]}}, "visit.linkd"),
        ({"friction": {"disabled": ["everything"]}}, "friction.disabled.0"),
        ({"friction": {"pickup_window": 3}}, "friction.pickup_window"),
        ({"funnel": {}}, "funnel"),
    ],
)
def test_bad_tables_name_the_bad_key(table: dict, where: str) -> None:
    with pytest.raises(ValidationError) as err:
        JourneyRules.model_validate(table)
    assert where in str(err.value)


def _rules(*stage_rules: dict) -> JourneyRules:
    return JourneyRules.model_validate({"stages": list(stage_rules)})


@pytest.mark.parametrize(
    ("test", "rating", "holds"),
    [
        (5, 5, True),
        (5, 4, False),
        ({"gte": 4}, 4, True),
        ({"gte": 4}, 3, False),
        ({"gt": 4}, 4, False),
        ({"lt": 2}, 1, True),
        ({"lte": 2}, 3, False),
        ({"ne": 3}, 2, True),
        ({"ne": 3}, 3, False),
        ({"in": [1, 5]}, 5, True),
        ({"in": [1, 5]}, 4, False),
        ({"gte": 2, "lt": 4}, 3, True),
        ({"gte": 2, "lt": 4}, 4, False),
        ({"exists": True}, 1, True),
    ],
)
def test_data_conditions(test: object, rating: int, holds: bool) -> None:
    rules = _rules({"event": "review.posted", "stage": "advocacy", "data": {"rating": test}})
    fact = make("review.posted", data={"rating": rating})
    assert rules.stages_evidenced(fact) == ([STAGES.index("advocacy")] if holds else [])


def test_conditions_on_missing_fields_and_kinds() -> None:
    rules = _rules(
        {"event": "order.placed", "stage": "action", "data": {"pickup_store_id": {"exists": True}}},
        {"event": "order.placed", "stage": "desire", "data": {"pickup_store_id": {"ne": "s1"}}},
        {"event": "product.viewed", "stage": "desire", "data": {"in_stock": 1}},
    )
    home = make("order.placed")  # pickup_store_id is null
    collect = make("order.placed", data={"pickup_store_id": "s1"})
    assert rules.stages_evidenced(home) == []  # a null holds no test but exists = false
    assert rules.stages_evidenced(collect) == [STAGES.index("action")]
    assert rules.stages_evidenced(make("product.viewed", data={"in_stock": True})) == []


def test_channel_condition() -> None:
    rules = _rules({"event": "web.visited", "stage": "interest", "channel": "app"})
    assert rules.stages_evidenced(make("web.visited", channel="app")) == [1]
    assert rules.stages_evidenced(make("web.visited", channel="web")) == []


def test_equal_tables_compile_to_equal_rules() -> None:
    a = JourneyRules.model_validate(tomllib.loads(DEFAULT_JOURNEY_TOML)["journey"])
    b = JourneyRules.model_validate(tomllib.loads(DEFAULT_JOURNEY_TOML)["journey"])
    a.task_of("product.viewed")
    a.stages_evidenced(make("product.viewed"))
    assert a == b
