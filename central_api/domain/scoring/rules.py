"""The scoring, grading and threshold rules: one versioned TOML file, loaded into typed models.

The format is documented in ``default_rules.toml`` (next to this module), which is also the
rule set central starts with. Models reject unknown keys; every problem is reported as
``ConfigError`` lines naming the key path, e.g. ``scoring.rules.2.cap.period: Input should
be 'day', 'week' or 'month'``. Checks that need more than one key (a data field that the
rule's event type does not have, duplicate ids) run after the structural validation and
name their key path the same way.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from central_api.domain.facts import CHANNELS
from edge_sync.protocol import REGISTRY
from edge_sync.protocol.online import ONLINE_REGISTRY
from edge_sync.protocol.settings import ConfigError, read_toml, validate_config

#: F, then D- … A+; each step is a third of a letter.
GRADES = ("F", "D-", "D", "D+", "C-", "C", "C+", "B-", "B", "B+", "A-", "A", "A+")
GradeLetter = Literal["F", "D-", "D", "D+", "C-", "C", "C+", "B-", "B", "B+", "A-", "A", "A+"]


def _event_fields() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for et in (*REGISTRY, *ONLINE_REGISTRY):
        out[et.name] = out.get(et.name, frozenset()) | frozenset(et.model.model_fields)
    return out


#: data fields of each event type name (kiosk and online), over all its versions
EVENT_FIELDS = _event_fields()

Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in"]
Repeat = Literal[
    "always", "once", "once_per_campaign", "once_per_store", "once_per_session", "once_per_field"
]
RuleId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=64)]


def _scalar(v: Any) -> Any:
    if isinstance(v, str | int | float):  # bool is an int
        return v
    raise ValueError("must be a string, a number or a boolean")


def _number(v: Any) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    raise ValueError("must be a number")


Scalar = Annotated[Any, AfterValidator(_scalar)]
Number = Annotated[Any, AfterValidator(_number)]


def same(a: Any, b: Any) -> bool:
    """Equality that does not let ``True == 1``: booleans only equal booleans."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def compare(op: str, actual: Any, expected: Any) -> bool:
    """``actual op expected``; ordering ops hold only between numbers (never booleans)."""
    if op == "eq":
        return same(actual, expected)
    if op == "ne":
        return not same(actual, expected)
    if op == "in":
        return any(same(actual, e) for e in expected)
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    raise ValueError(f"unknown operator {op!r}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataTest(_Model):
    """Tests on one data field; all given ones must hold. ``exists`` tests presence (non-null)."""

    eq: Scalar = None
    ne: Scalar = None
    gt: Number = None
    gte: Number = None
    lt: Number = None
    lte: Number = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in", min_length=1)
    exists: bool | None = None

    @model_validator(mode="after")
    def _some_test(self) -> DataTest:
        if self.exists is None and not self.tests():
            raise ValueError("no test given (use gt, gte, lt, lte, eq, ne, in or exists)")
        return self

    def tests(self) -> list[tuple[str, Any]]:
        """The ``(op, value)`` pairs set, ``exists`` excluded."""
        ops = ("eq", "ne", "gt", "gte", "lt", "lte")
        out = [(op, getattr(self, op)) for op in ops if getattr(self, op) is not None]
        if self.in_ is not None:
            out.append(("in", self.in_))
        return out


NameList = Annotated[tuple[Name, ...], Field(min_length=1)]


class When(_Model):
    """Conditions on a fact; all given ones must hold."""

    channel: NameList | None = None
    store: NameList | None = None
    #: the fact's campaign (``Fact.campaign_id``, else ``data.campaign_id``)
    campaign: NameList | None = None
    data: dict[str, DataTest] = {}

    @field_validator("channel", "store", "campaign", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("channel")
    @classmethod
    def _channels(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for c in v or ():
            if c not in CHANNELS:
                raise ValueError(f"unknown channel {c!r} (one of {', '.join(CHANNELS)})")
        return v

    @field_validator("data", mode="before")
    @classmethod
    def _equality_shorthand(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: t if isinstance(t, dict) else {"eq": t} for k, t in v.items()}
        return v


class Cap(_Model):
    """At most ``points`` (in magnitude) from one rule per profile per UTC calendar period."""

    points: int = Field(gt=0)
    period: Literal["day", "week", "month"]


class ScoringRule(_Model):
    id: RuleId
    event: str
    points: int
    group: Name
    repeat: Repeat = "always"
    #: the data field that ``repeat = "once_per_field"`` keys on, e.g. "order_id"
    per_field: Name | None = None
    cap: Cap | None = None
    when: When = When()

    @field_validator("event")
    @classmethod
    def _known_event(cls, v: str) -> str:
        if v not in EVENT_FIELDS:
            raise ValueError(f"unknown event type {v!r} (known: {', '.join(sorted(EVENT_FIELDS))})")
        return v

    @field_validator("points")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("must not be 0 (a rule worth nothing can be removed)")
        return v


class Scoring(_Model):
    rules: tuple[ScoringRule, ...] = ()


class Criterion(_Model):
    id: RuleId
    attribute: Name
    op: Op
    value: Any
    steps: int

    @field_validator("value")
    @classmethod
    def _fits_op(cls, v: Any, info: ValidationInfo) -> Any:
        op = info.data.get("op")
        if op == "in":
            if not isinstance(v, list) or not v:
                raise ValueError("must be a non-empty list for op 'in'")
            return tuple(_scalar(e) for e in v)
        if op in ("gt", "gte", "lt", "lte"):
            return _number(v)
        return _scalar(v)

    @field_validator("steps")
    @classmethod
    def _nonzero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("must not be 0")
        return v


class Grading(_Model):
    start: GradeLetter = "D"
    criteria: tuple[Criterion, ...] = ()


class Threshold(_Model):
    id: RuleId
    #: on the decayed total as of each fact
    score_at_least: float = Field(gt=0, allow_inf_nan=False)
    grade_at_least: GradeLetter | None = None
    #: after firing, re-arms only once the score is below score_at_least - hysteresis
    hysteresis: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    stage: Name | None = None
    webhook: bool = False


#: a profile attribute's name, explicit or derived
AttributeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
AttributeType = Literal["string", "number", "bool"]
Aggregate = Literal["count", "sum", "max", "min", "latest", "distinct"]


class DerivedAttribute(_Model):
    """An order-independent aggregate of a profile's facts (see ``domain.scoring.attributes``)."""

    name: AttributeName
    aggregate: Aggregate
    #: one event type or several; every fact of one of them is a candidate
    event: tuple[str, ...] = Field(min_length=1)
    #: the data field aggregated; required except for ``count``
    field: Name | None = None
    #: only facts within this many days up to the profile's latest fact
    within_days: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    when: When = When()

    @field_validator("event", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("event")
    @classmethod
    def _known_events(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for e in v:
            if e not in EVENT_FIELDS:
                raise ValueError(f"unknown event type {e!r}")
        return v


class Attributes(_Model):
    #: explicit attributes with a declared type (others are accepted as any scalar)
    explicit: dict[AttributeName, AttributeType] = {}
    derived: tuple[DerivedAttribute, ...] = ()


class RuleSet(_Model):
    version: Annotated[str, Field(min_length=1, max_length=64)]
    #: behavioural score decay; ``inf`` turns decay off
    half_life_days: float = Field(gt=0)
    scoring: Scoring = Scoring()
    grading: Grading = Grading()
    thresholds: tuple[Threshold, ...] = ()
    attributes: Attributes = Attributes()
    #: the journey rules, defined and checked by the journey module
    journey: dict[str, Any] = {}

    @property
    def half_life_s(self) -> float:
        return self.half_life_days * 86400.0

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: str) -> RuleSet:
        rules = validate_config(cls, doc, source)
        problems = _cross_checks(rules)
        if problems:
            raise ConfigError(source, problems)
        return rules

    @classmethod
    def from_toml_text(cls, text: str, source: str = "(rules)") -> RuleSet:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(source, [("(syntax)", str(err))]) from None
        return cls.from_doc(doc, source)

    def stage_rank(self) -> dict[str, int]:
        """Stages ordered by their first threshold in the file: later ones rank higher."""
        rank: dict[str, int] = {}
        for t in self.thresholds:
            if t.stage is not None and t.stage not in rank:
                rank[t.stage] = len(rank)
        return rank


def _cross_checks(rules: RuleSet) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []

    def unique(items: tuple[Any, ...], path: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                problems.append((f"{path}.{i}.id", f"duplicate id {item.id!r}"))
            seen.add(item.id)

    unique(rules.scoring.rules, "scoring.rules")
    unique(rules.grading.criteria, "grading.criteria")
    unique(rules.thresholds, "thresholds")
    for i, r in enumerate(rules.scoring.rules):
        fields = EVENT_FIELDS[r.event]
        where = f"scoring.rules.{i}"
        known = f"fields of {r.event!r}: {', '.join(sorted(fields))}"
        for name in r.when.data:
            if name not in fields:
                problems.append((f"{where}.when.data.{name}", f"not a data field ({known})"))
        if r.repeat == "once_per_field":
            if r.per_field is None:
                problems.append((f"{where}.per_field", 'required with repeat = "once_per_field"'))
            elif r.per_field not in fields:
                problems.append((f"{where}.per_field", f"not a data field ({known})"))
        elif r.per_field is not None:
            problems.append((f"{where}.per_field", 'only allowed with repeat = "once_per_field"'))
    problems += _attribute_checks(rules)
    return problems


_NUMERIC_OPS = ("gt", "gte", "lt", "lte")


def _attribute_checks(rules: RuleSet) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    explicit = rules.attributes.explicit
    seen: set[str] = set()
    for i, d in enumerate(rules.attributes.derived):
        where = f"attributes.derived.{i}"
        if d.name in seen:
            problems.append((f"{where}.name", f"duplicate derived attribute {d.name!r}"))
        seen.add(d.name)
        if d.name in explicit:
            problems.append(
                (f"{where}.name", f"{d.name!r} is also declared in attributes.explicit")
            )
        fields = frozenset().union(*(EVENT_FIELDS[e] for e in d.event))
        known = f"fields of {', '.join(d.event)}: {', '.join(sorted(fields))}"
        if d.aggregate == "count":
            if d.field is not None:
                problems.append((f"{where}.field", 'not used by aggregate = "count"'))
        elif d.field is None:
            problems.append((f"{where}.field", f"required with aggregate = {d.aggregate!r}"))
        elif d.field not in fields:
            problems.append((f"{where}.field", f"not a data field ({known})"))
        for name in d.when.data:
            if name not in fields:
                problems.append((f"{where}.when.data.{name}", f"not a data field ({known})"))
    for i, c in enumerate(rules.grading.criteria):
        kind = explicit.get(c.attribute)
        if c.op in _NUMERIC_OPS and kind in ("string", "bool"):
            problems.append(
                (
                    f"grading.criteria.{i}.op",
                    f"{c.op!r} needs a number; {c.attribute!r} is a {kind}",
                )
            )
    return problems


def load_rules(path: str | Path) -> RuleSet:
    return RuleSet.from_doc(read_toml(path), str(path))


DEFAULT_RULES_FILE = "default_rules.toml"


def default_rules_text() -> str:
    return resources.files(__package__).joinpath(DEFAULT_RULES_FILE).read_text(encoding="utf-8")


def default_rules() -> RuleSet:
    return RuleSet.from_toml_text(default_rules_text(), f"{__package__}/{DEFAULT_RULES_FILE}")
