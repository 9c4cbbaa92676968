"""The rules file: typed, strict, and every error names its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from central_api.domain.scoring import rules as rules_mod
from central_api.domain.scoring.rules import RuleSet, default_rules, load_rules
from edge_sync.protocol import REGISTRY
from edge_sync.protocol.online import ONLINE_REGISTRY
from edge_sync.protocol.settings import ConfigError

HEAD = 'version = "t1"\nhalf_life_days = 30\n'


def problems(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        RuleSet.from_toml_text(text, "test.toml")
    assert info.value.source == "test.toml"
    return dict(info.value.problems)


def rule(extra: str = "", event: str = "order.placed") -> str:
    return (
        f'{HEAD}[[scoring.rules]]\nid = "r"\nevent = "{event}"\npoints = 5\ngroup = "web"\n{extra}'
    )


def test_default_rules_load_and_cover_every_group() -> None:
    r = default_rules()
    assert r.version
    assert {x.group for x in r.scoring.rules} == {"in_store", "email", "web"}
    assert [t.id for t in r.thresholds] == ["mql", "sql"]
    assert r.stage_rank() == {"mql": 0, "sql": 1}
    assert r.grading.start == "D" and r.grading.criteria
    known = {t.name for t in REGISTRY} | {t.name for t in ONLINE_REGISTRY}
    assert {x.event for x in r.scoring.rules} <= known


def test_default_rules_file_ships_inside_the_package() -> None:
    path = Path(rules_mod.__file__).with_name(rules_mod.DEFAULT_RULES_FILE)
    assert load_rules(path) == default_rules()


def test_minimal_file() -> None:
    r = RuleSet.from_toml_text(HEAD)
    assert r.scoring.rules == () and r.thresholds == () and r.journey == {}
    assert r.half_life_s == 30 * 86400


def test_journey_table_passes_through_unchecked() -> None:
    r = RuleSet.from_toml_text(
        HEAD + '[journey]\nanything = [1, 2]\n[journey.tasks]\n"a.*" = "x"\n'
    )
    assert r.journey == {"anything": [1, 2], "tasks": {"a.*": "x"}}


def test_required_top_level_keys() -> None:
    p = problems("[grading]\n")
    assert set(p) == {"version", "half_life_days"}


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_half_life_must_be_positive(value: str) -> None:
    assert "half_life_days" in problems(f'version = "x"\nhalf_life_days = {value}\n')


def test_infinite_half_life_is_allowed() -> None:
    r = RuleSet.from_toml_text('version = "x"\nhalf_life_days = inf\n')
    assert r.half_life_s == float("inf")


def test_unknown_keys_are_named_by_path() -> None:
    assert problems(HEAD + "colour = 1\n") == {"colour": "unknown key (not allowed here)"}
    p = problems(rule('bogus = 1\ncap = { points = 1, period = "day", x = 2 }\n'))
    assert set(p) == {"scoring.rules.0.bogus", "scoring.rules.0.cap.x"}
    p = problems(rule("when = { data = { value = { between = 3 } } }\n"))
    assert set(p) == {"scoring.rules.0.when.data.value.between"}
    p = problems(HEAD + '[[thresholds]]\nid = "t"\nscore_at_least = 1\nfire = true\n')
    assert set(p) == {"thresholds.0.fire"}


def test_rule_field_errors() -> None:
    p = problems(rule('repeat = "twice"\ncap = { points = 0, period = "year" }\n'))
    assert set(p) == {
        "scoring.rules.0.repeat",
        "scoring.rules.0.cap.points",
        "scoring.rules.0.cap.period",
    }
    p = problems(rule(event="order.shipped"))
    assert "unknown event type 'order.shipped'" in p["scoring.rules.0.event"]
    p = problems(
        HEAD + '[[scoring.rules]]\nid = "bad id!"\nevent = "web.visited"\npoints = 0\ngroup = "g"\n'
    )
    assert set(p) == {"scoring.rules.0.id", "scoring.rules.0.points"}
    p = problems(
        HEAD + '[[scoring.rules]]\nid = "r"\nevent = "web.visited"\npoints = 1.5\ngroup = "g"\n'
    )
    assert set(p) == {"scoring.rules.0.points"}


def test_when_errors() -> None:
    p = problems(rule('when = { channel = "shop" }\n'))
    assert "unknown channel 'shop'" in p["scoring.rules.0.when.channel"]
    p = problems(rule("when = { store = [] }\n"))
    assert set(p) == {"scoring.rules.0.when.store"}
    p = problems(
        rule('when = { data = { value = { gt = "ten" }, items = [1, 2], order_id = {} } }\n')
    )
    assert set(p) == {
        "scoring.rules.0.when.data.value.gt",
        "scoring.rules.0.when.data.items.eq",
        "scoring.rules.0.when.data.order_id",
    }
    p = problems(rule("when = { data = { value = { in = [] } } }\n"))
    assert set(p) == {"scoring.rules.0.when.data.value.in"}


def test_data_fields_must_exist_in_the_event_schema() -> None:
    p = problems(rule("when = { data = { total = { gt = 3 } } }\n"))
    assert set(p) == {"scoring.rules.0.when.data.total"}
    assert "order_id" in p["scoring.rules.0.when.data.total"]  # lists the real fields


def test_per_field_goes_with_once_per_field() -> None:
    p = problems(rule('repeat = "once_per_field"\n'))
    assert set(p) == {"scoring.rules.0.per_field"}
    p = problems(rule('repeat = "once_per_field"\nper_field = "basket"\n'))
    assert "not a data field" in p["scoring.rules.0.per_field"]
    p = problems(rule('per_field = "order_id"\n'))
    assert "only allowed" in p["scoring.rules.0.per_field"]


def test_duplicate_ids() -> None:
    text = (
        rule() + '[[scoring.rules]]\nid = "r"\nevent = "web.visited"\npoints = 1\ngroup = "web"\n'
    )
    assert set(problems(text)) == {"scoring.rules.1.id"}
    crit = '[[grading.criteria]]\nid = "c"\nattribute = "a"\nop = "eq"\nvalue = 1\nsteps = 1\n'
    assert set(problems(HEAD + crit + crit)) == {"grading.criteria.1.id"}
    thr = '[[thresholds]]\nid = "t"\nscore_at_least = 5\n'
    assert set(problems(HEAD + thr + thr)) == {"thresholds.1.id"}


def test_grading_errors() -> None:
    crit = '[[grading.criteria]]\nid = "c"\nattribute = "a"\nop = "{op}"\nvalue = {value}\nsteps = {steps}\n'
    assert set(problems(HEAD + '[grading]\nstart = "E"\n')) == {"grading.start"}
    p = problems(HEAD + crit.format(op="in", value="3", steps=1))
    assert "non-empty list" in p["grading.criteria.0.value"]
    p = problems(HEAD + crit.format(op="gte", value='"lots"', steps=1))
    assert set(p) == {"grading.criteria.0.value"}
    p = problems(HEAD + crit.format(op="like", value="1", steps=0))
    assert set(p) == {"grading.criteria.0.op", "grading.criteria.0.steps"}


def test_threshold_errors() -> None:
    p = problems(
        HEAD
        + '[[thresholds]]\nid = "t"\nscore_at_least = 0\ngrade_at_least = "Z"\nhysteresis = -1\n'
    )
    assert set(p) == {
        "thresholds.0.score_at_least",
        "thresholds.0.grade_at_least",
        "thresholds.0.hysteresis",
    }


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    assert set(problems("version = ")) == {"(syntax)"}
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path / "nope.toml")
    assert info.value.problems == [("(file)", "no such file")]


def test_load_rules_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(rule('cap = { points = 2, period = "fortnight" }\n'))
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    assert str(path) in str(info.value)
    assert "scoring.rules.0.cap.period" in str(info.value)


def test_shorthands_are_normalised() -> None:
    r = RuleSet.from_toml_text(
        rule('when = { channel = "web", store = "s1", campaign = "c1", data = { items = 2 } }\n')
    )
    w = r.scoring.rules[0].when
    assert w.channel == ("web",) and w.store == ("s1",) and w.campaign == ("c1",)
    assert w.data["items"].tests() == [("eq", 2)]


def test_rule_sets_are_immutable_and_comparable() -> None:
    a, b = default_rules(), default_rules()
    assert a == b
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type
        a.version = "x"  # type: ignore[misc]
