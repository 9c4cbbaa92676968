"""The ``[journey]`` table of the rules file: which task each event is, which funnel
stage it evidences, and the windows after which friction is reported.

The table's shape (``DEFAULT_JOURNEY_TOML`` below is the full default)::

    [journey]
    attribution_window_days = 30   # last-touch credit of stages; 0 = the fact's own only
    stages = [                     # every rule a fact matches evidences its stage
      { event = "product.viewed", stage = "desire", data = { in_stock = true } },
      { event = "review.posted", stage = "advocacy", data = { rating = { gte = 4 } } },
      { event = "web.visited", stage = "awareness", channel = ["web", "app"] },
    ]                              # data: all must hold; a value is an equality or a
                                   # table of eq/ne/gt/gte/lt/lte/in/exists (as in scoring)
    [journey.tasks]                # event type or "prefix.*" -> task; "" = no touchpoint;
    "product.searched" = "search"  # an exact type wins over a prefix pattern
    [journey.friction]             # windows, and the finding kinds to leave out
    pickup_uncollected_after_hours = 72
    low_rating_at_most = 2        # survey.answered at or below: a low_rating finding
    disabled = []

Event types, data fields and stage names are checked against the event schemas, so a
typo is an error that names the bad key rather than a rule that silently never fires.
"""

from __future__ import annotations

import operator
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from central_api.domain.facts import Fact
from edge_sync.protocol.online import ONLINE_REGISTRY
from edge_sync.protocol.schemas import REGISTRY

#: the funnel, in order; a profile's stage only ever moves forward along it
Stage = Literal["awareness", "interest", "desire", "action", "delivery_use", "advocacy"]
STAGES: tuple[str, ...] = get_args(Stage)
STAGE_INDEX = {s: i for i, s in enumerate(STAGES)}

FindingKind = Literal[
    "out_of_stock", "pickup_not_collected", "campaign_no_visit", "checkout_abandoned",
    "scan_failed", "low_rating",
]  # fmt: skip
FINDING_KINDS: tuple[str, ...] = get_args(FindingKind)

#: every event type central knows, with the data fields of any of its versions
KNOWN_TYPES: dict[str, frozenset[str]] = {}
for _et in (*REGISTRY, *ONLINE_REGISTRY):
    KNOWN_TYPES[_et.name] = KNOWN_TYPES.get(_et.name, frozenset()) | set(_et.model.model_fields)

TypePattern = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?$", max_length=64)
]
TaskName = Annotated[str, StringConstraints(pattern=r"^([a-z][a-z0-9_]{0,39})?$")]
Scalar = bool | int | float | str
Channel = Literal["kiosk", "email", "web", "app", "direct_mail", "pos"]  # facts.CHANNELS

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda a, b: a in b,
}
#: (data field, op, value): plain data, so equal rules compare equal once compiled
Cond = tuple[str, str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Compare(_Model):
    """A data condition other than plain equality, e.g. ``{ gte = 4 }``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: int | float | None = None
    gte: int | float | None = None
    lt: int | float | None = None
    lte: int | float | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    #: true: the field is present and not null; false: it is absent or null
    exists: bool | None = None

    @model_validator(mode="after")
    def _one_at_least(self) -> Compare:
        if not self.conds("x"):
            raise ValueError("a test needs one of eq, ne, gt, gte, lt, lte, in, exists")
        return self

    def conds(self, key: str) -> list[Cond]:
        out: list[Cond] = []
        for op in (*_OPS, "exists"):
            value = getattr(self, "in_" if op == "in" else op)
            if value is not None:
                out.append((key, op, tuple(value) if op == "in" else value))
        return out


# A table is a comparison, anything else an equality (so an error names the one that failed).
Condition = Annotated[
    Annotated[Scalar, Tag("equals")] | Annotated[Compare, Tag("compare")],
    Discriminator(lambda v: "compare" if isinstance(v, dict | Compare) else "equals"),
]


class StageRule(_Model):
    event: TypePattern
    stage: Stage
    data: dict[str, Condition] = Field(default_factory=dict)
    channel: list[Channel] | None = None

    @field_validator("channel", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _known(self) -> StageRule:
        types = types_matching(self.event)
        for key in self.data:
            if not any(key in KNOWN_TYPES[t] for t in types):
                raise ValueError(f"data: {self.event} has no field {key!r}")
        return self

    def conds(self) -> tuple[Cond, ...]:
        out: list[Cond] = []
        for key, value in sorted(self.data.items()):
            out.extend(value.conds(key) if isinstance(value, Compare) else [(key, "eq", value)])
        return tuple(out)


class FrictionRules(_Model):
    pickup_uncollected_after_hours: float = Field(default=72, gt=0)
    campaign_no_visit_after_days: float = Field(default=14, gt=0)
    checkout_abandoned_after_hours: float = Field(default=24, gt=0)
    #: a kiosk feedback rating (``survey.answered``, 1–5) at or below this is friction
    low_rating_at_most: int = Field(default=2, ge=1, le=5)
    #: online facts that show interest in a campaign (they need a campaign id)
    campaign_interaction_types: list[TypePattern] = ["email.clicked", "web.visited", "qr.opened"]
    #: kiosk facts that show the customer came into a store (any store)
    store_visit_types: list[TypePattern] = ["visit.linked", "campaign.scanned", "pickup.confirmed"]
    disabled: list[FindingKind] = []

    @model_validator(mode="after")
    def _known(self) -> FrictionRules:
        for pattern in (*self.campaign_interaction_types, *self.store_visit_types):
            types_matching(pattern)
        return self


DEFAULT_JOURNEY_TOML = """
[journey]
attribution_window_days = 30
stages = [
  { event = "email.opened", stage = "awareness" },
  { event = "web.visited", stage = "awareness" },
  { event = "visit.linked", stage = "awareness" },
  { event = "email.clicked", stage = "interest" },
  { event = "qr.opened", stage = "interest" },
  { event = "campaign.scanned", stage = "interest" },
  { event = "product.searched", stage = "interest" },
  { event = "product.viewed", stage = "interest" },
  { event = "product.viewed", stage = "desire", data = { in_stock = true } },
  { event = "cart.updated", stage = "desire", data = { items = { gte = 1 } } },
  { event = "checkout.started", stage = "desire" },
  { event = "order.placed", stage = "action" },
  { event = "pickup.confirmed", stage = "delivery_use" },
  { event = "review.posted", stage = "delivery_use" },
  { event = "review.posted", stage = "advocacy", data = { rating = { gte = 4 } } },
  { event = "survey.answered", stage = "advocacy", data = { rating = { gte = 4 } } },
]

[journey.tasks]
"session.*" = ""
"product.searched" = "search"
"product.viewed" = "browse"
"qr.scanned" = "scan"
"visit.linked" = "check_in"
"campaign.scanned" = "campaign_scan"
"pickup.confirmed" = "pickup"
"pickup.refused" = "pickup_refused"
"consent.recorded" = "consent"
"email.opened" = "read_email"
"email.clicked" = "click_email"
"web.visited" = "browse_web"
"cart.updated" = "cart"
"checkout.started" = "checkout"
"order.placed" = "order"
"review.posted" = "review"
"qr.opened" = "open_campaign_link"
"survey.answered" = "feedback"

[journey.friction]
pickup_uncollected_after_hours = 72
campaign_no_visit_after_days = 14
checkout_abandoned_after_hours = 24
low_rating_at_most = 2
campaign_interaction_types = ["email.clicked", "web.visited", "qr.opened"]
store_visit_types = ["visit.linked", "campaign.scanned", "pickup.confirmed"]
disabled = []
"""
_DEFAULT = tomllib.loads(DEFAULT_JOURNEY_TOML)["journey"]


class JourneyRules(_Model):
    """The ``[journey]`` table. A sub-table left out takes its default."""

    attribution_window_days: float = Field(default=_DEFAULT["attribution_window_days"], ge=0)
    tasks: dict[TypePattern, TaskName] = Field(default_factory=lambda: dict(_DEFAULT["tasks"]))
    stages: list[StageRule] = Field(
        default_factory=lambda: [StageRule.model_validate(r) for r in _DEFAULT["stages"]]
    )
    friction: FrictionRules = Field(default_factory=FrictionRules)

    _compiled: CompiledJourney = PrivateAttr()

    @model_validator(mode="after")
    def _known(self) -> JourneyRules:
        for pattern in self.tasks:
            try:
                types_matching(pattern)
            except ValueError as err:
                raise ValueError(f"tasks.{pattern}: {err}") from None
        return self

    def model_post_init(self, context: Any, /) -> None:
        by_type: dict[str, list[StageTest]] = {}
        for rule in self.stages:
            channels = frozenset(rule.channel) if rule.channel is not None else None
            for t in types_matching(rule.event):
                by_type.setdefault(t, []).append((STAGE_INDEX[rule.stage], channels, rule.conds()))
        fr = self.friction
        self._compiled = CompiledJourney(
            tasks={t: self._lookup_task(t) for t in KNOWN_TYPES},
            stage_rules={t: tuple(rs) for t, rs in by_type.items()},
            campaign_interactions=_expand(fr.campaign_interaction_types),
            store_visits=_expand(fr.store_visit_types),
        )

    def _lookup_task(self, event_type: str) -> str | None:
        if event_type in self.tasks:
            return self.tasks[event_type] or None
        best = max((p for p in self.tasks if _prefix_matches(p, event_type)), key=len, default="")
        return (self.tasks[best] or None) if best else None

    @property
    def compiled(self) -> CompiledJourney:
        """The rules as plain data: take it once, outside a loop over facts."""
        return self._compiled

    def task_of(self, event_type: str) -> str | None:
        return self._compiled.task_of(event_type)

    def stages_evidenced(self, fact: Fact) -> list[int]:
        return self._compiled.stages_evidenced(fact)


#: (stage index, channels or None for any, data conditions)
StageTest = tuple[int, frozenset[str] | None, tuple[Cond, ...]]


@dataclass(frozen=True, slots=True)
class CompiledJourney:
    """Tasks and stage rules per event type, as plain data for the per-fact loops (each
    attribute read on a pydantic model goes through its ``__getattr__``). Compares by
    value, so equal rules stay equal."""

    tasks: dict[str, str | None]
    stage_rules: dict[str, tuple[StageTest, ...]]
    campaign_interactions: frozenset[str]
    store_visits: frozenset[str]

    def task_of(self, event_type: str) -> str | None:
        """The task a fact of this type is, or None when it is not a touchpoint."""
        return self.tasks.get(event_type)

    def stages_evidenced(self, fact: Fact) -> list[int]:
        """Indexes into ``STAGES`` of every stage rule that this fact matches."""
        out = []
        for stage, channels, conds in self.stage_rules.get(fact.type, ()):
            if channels is not None and fact.channel not in channels:
                continue
            if all(_holds(fact.data.get(key), op, value) for key, op, value in conds):
                out.append(stage)
        return out


def _prefix_matches(pattern: str, event_type: str) -> bool:
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def types_matching(pattern: str) -> list[str]:
    if pattern in KNOWN_TYPES:
        return [pattern]
    types = sorted(t for t in KNOWN_TYPES if _prefix_matches(pattern, t))
    if not types:
        raise ValueError(f"no event type {pattern!r}")
    return types


def _expand(patterns: list[str]) -> frozenset[str]:
    return frozenset(t for p in patterns for t in types_matching(p))


def _holds(actual: Any, op: str, expected: Any) -> bool:
    """A data condition; a missing field, a null or a value of the wrong kind never holds
    (and ``true`` is not ``1``)."""
    if op == "exists":
        return (actual is not None) is expected
    if actual is None:
        return False
    if op == "in":
        return any(_same_kind(actual, e) and actual == e for e in expected)
    if not _same_kind(actual, expected):
        return False
    return _OPS[op](actual, expected)


def _same_kind(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, int | float):
        return isinstance(b, int | float)
    return type(a) is type(b)


def campaign_of(fact: Fact) -> str | None:
    """The campaign a fact belongs to: the envelope's, else its data's ``campaign_id``."""
    if fact.campaign_id is not None:
        return fact.campaign_id
    value = fact.data.get("campaign_id")
    return value if isinstance(value, str) else None


DEFAULT_JOURNEY_RULES = JourneyRules.model_validate(_DEFAULT)
