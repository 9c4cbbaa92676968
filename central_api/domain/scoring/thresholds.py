"""Thresholds and lifecycle stages, derived from a profile's facts, ledger and grade.

The facts are walked in ``(occurred_at, event_id)`` order with a running decayed score:
just before a fact the score is the previous one decayed to the fact's time, right after
it that plus the fact's ledger points. A threshold fires at the fact whose points lift the
score to ``score_at_least`` or more (and only when the grade is at least
``grade_at_least``; the grade comes from the profile's current attributes — explicit,
and derived from the whole set of facts — so it holds
for the whole walk or not at all). After firing it is disarmed until the score has been
below ``score_at_least − hysteresis`` — observed just before or right after a later fact;
since every threshold is positive and a score decays monotonically towards 0 between
facts, nothing can cross between facts, so watching at facts misses nothing.

The running score is carried forward line group by line group, so it can differ from
``score_totals`` at the same instant by float rounding; it is still a pure function of
the set of facts, so crossings never depend on arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from central_api.domain.facts import Fact, ordered
from central_api.domain.scoring.attributes import derive_attributes, effective
from central_api.domain.scoring.grading import Grade, grade
from central_api.domain.scoring.rules import RuleSet
from central_api.domain.scoring.scoring import (
    LedgerLine,
    Scores,
    decay_factor,
    derive_ledger,
    score_totals,
)


@dataclass(frozen=True, slots=True)
class Crossing:
    threshold_id: str
    #: occurred_at of the fact that crossed
    at: datetime
    event_id: str
    #: the running decayed score right after that fact
    score: float
    stage: str | None


def crossings(
    facts: Iterable[Fact],
    ledger: Iterable[LedgerLine],
    attributes: Mapping[str, Any],
    rules: RuleSet,
) -> list[Crossing]:
    """Every firing of every threshold over the profile's history, in order."""
    g = grade(attributes, rules)
    eligible = [
        t for t in rules.thresholds if t.grade_at_least is None or g.at_least(t.grade_at_least)
    ]
    if not eligible:
        return []
    points: dict[str, int] = {}
    for ln in ledger:
        points[ln.event_id] = points.get(ln.event_id, 0) + ln.points
    h = rules.half_life_s
    armed = {t.id: True for t in eligible}
    score, last = 0.0, None
    out: list[Crossing] = []
    for fact in ordered(facts):
        p = points.get(fact.event_id, 0)
        if p == 0:
            continue  # no change here; a dip is seen just before the next fact with points
        before = score * decay_factor(last, fact.occurred_at, h) if last is not None else 0.0
        after = before + p
        score, last = after, fact.occurred_at
        low = min(before, after)
        for t in eligible:
            if not armed[t.id] and low < t.score_at_least - t.hysteresis:
                armed[t.id] = True
            if armed[t.id] and after >= t.score_at_least:
                armed[t.id] = False
                out.append(Crossing(t.id, fact.occurred_at, fact.event_id, after, t.stage))
    return out


def current_stage(crossings: Iterable[Crossing], rules: RuleSet) -> str | None:
    """The profile's lifecycle stage: the highest stage any crossing has set.

    Stages only move forward (a lead that became SQL stays SQL when its score decays
    and an MQL threshold fires again), ranked by the position of the first threshold
    that sets each stage in the rules file — list MQL before SQL. Stages no threshold
    in ``rules`` sets any more are ignored. ``None`` before any stage is set.
    """
    rank = rules.stage_rank()
    best: str | None = None
    for c in crossings:
        if c.stage in rank and (best is None or rank[c.stage] > rank[best]):
            best = c.stage
    return best


@dataclass(frozen=True, slots=True)
class Derived:
    """Everything central derives for one profile under one rule set."""

    ledger: list[LedgerLine]
    scores: Scores
    grade: Grade
    crossings: list[Crossing]
    stage: str | None
    #: the rules' derived attributes (grading used these, overridden by explicit ones)
    derived: dict[str, Any]


def derive_profile(
    facts: Iterable[Fact], attributes: Mapping[str, Any], rules: RuleSet, at: datetime
) -> Derived:
    """Ledger, scores as of ``at``, grade, crossings, stage and derived attributes in one
    call; ``attributes`` are the explicit ones."""
    ledger, g, found, stage, derived = derive_state(facts, attributes, rules)
    return Derived(
        ledger=ledger,
        scores=score_totals(ledger, rules, at),
        grade=g,
        crossings=found,
        stage=stage,
        derived=derived,
    )


def derive_state(
    facts: Iterable[Fact], attributes: Mapping[str, Any], rules: RuleSet
) -> tuple[list[LedgerLine], Grade, list[Crossing], str | None, dict[str, Any]]:
    """What is stored for a profile (``derive_profile`` without the totals at a time):
    ledger, grade, crossings, stage and derived attributes. ``attributes`` are the
    explicit ones; grading sees them over the derived ones."""
    facts = ordered(facts)
    ledger = derive_ledger(facts, rules)
    derived = derive_attributes(facts, rules)
    fit = effective(attributes, derived)
    found = crossings(facts, ledger, fit, rules)
    return ledger, grade(fit, rules), found, current_stage(found, rules), derived


_COUNTS = (
    "profiles",
    "would_cross",
    "crossing_now",
    "newly_crossing",
    "no_longer_crossing",
    "fires",
    "fires_now",
)


def dry_run(
    profiles: Iterable[tuple[Iterable[Fact], Mapping[str, Any]]], old: RuleSet, new: RuleSet
) -> dict[str, dict[str, int]]:
    """How a rules change would move each threshold, over a set of ``(facts, attributes)``
    (explicit attributes; each rule set derives its own).

    Per threshold id (of either rule set): ``would_cross`` profiles that cross it at least
    once under ``new``, ``crossing_now`` the same under ``old``, ``newly_crossing`` /
    ``no_longer_crossing`` the profiles in one count and not the other, ``fires`` /
    ``fires_now`` the total number of crossings (with re-crossings), and ``profiles``.
    A threshold present in one rule set only counts 0 in the other. This is exactly what
    re-deriving every profile under ``new`` produces, so going live matches the dry run.
    """
    ids = [t.id for t in new.thresholds]
    ids += [t.id for t in old.thresholds if t.id not in ids]
    out = {tid: dict.fromkeys(_COUNTS, 0) for tid in ids}

    def fired(facts: list[Fact], attributes: Mapping[str, Any], rules: RuleSet) -> dict[str, int]:
        counts: dict[str, int] = {}
        fit = effective(attributes, derive_attributes(facts, rules))
        for c in crossings(facts, derive_ledger(facts, rules), fit, rules):
            counts[c.threshold_id] = counts.get(c.threshold_id, 0) + 1
        return counts

    for facts, attributes in profiles:
        fs = ordered(facts)
        was, will = fired(fs, attributes, old), fired(fs, attributes, new)
        for tid, row in out.items():
            row["profiles"] += 1
            row["would_cross"] += tid in will
            row["crossing_now"] += tid in was
            row["newly_crossing"] += tid in will and tid not in was
            row["no_longer_crossing"] += tid in was and tid not in will
            row["fires"] += will.get(tid, 0)
            row["fires_now"] += was.get(tid, 0)
    return out
