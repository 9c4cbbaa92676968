"""The behavioural score: a ledger derived from a profile's facts, and totals derived from it.

``derive_ledger`` is a pure function of the set of facts and the rules: facts are
deduplicated and walked in ``(occurred_at, event_id)`` order, so "once" means the
earliest matching fact in that order and caps fill up in that order too. The same facts
in any arrival order, with any duplicates, give the same ledger.

Totals are derived from the ledger only, so a total always equals the sum of its lines.
The decayed score of a line at time ``at`` is ``points × 2^(−(at − occurred_at)/half_life)``
and the decayed total is the ``math.fsum`` of those — a correctly rounded sum, hence the
same bits whatever the order of the lines. Lines that occur after ``at`` are excluded
from every total (raw and decayed): a score "as of" ``at`` knows nothing of later facts.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from central_api.domain.facts import Fact, ordered
from central_api.domain.scoring.rules import RuleSet, ScoringRule, compare


@dataclass(frozen=True, slots=True)
class LedgerLine:
    event_id: str
    rule_id: str
    rules_version: str
    group: str
    points: int
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Scores:
    total_raw: int
    total_decayed: float
    by_group_raw: dict[str, int]
    by_group_decayed: dict[str, float]


@dataclass(frozen=True, slots=True)
class ExplainedLine:
    line: LedgerLine
    #: this line's contribution to the decayed total at ``Explanation.at``
    decayed: float


@dataclass(frozen=True, slots=True)
class Explanation:
    at: datetime
    #: the lines with occurred_at <= at, in (occurred_at, event_id, rule_id) order
    lines: list[ExplainedLine]
    #: equal, bit for bit, to ``score_totals(ledger, rules, at)``
    scores: Scores
    #: lines left out because they occurred after ``at``
    later_lines: int


# -- compiled rules: conditions turned into plain tuples once per RuleSet --------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    index: int
    id: str
    group: str
    points: int
    repeat: str
    per_field: str | None
    cap_points: int | None
    cap_period: str | None
    channels: frozenset[str] | None
    stores: frozenset[str] | None
    campaigns: frozenset[str] | None
    #: (field, exists or None, ((op, value), …))
    data: tuple[tuple[str, bool | None, tuple[tuple[str, Any], ...]], ...]


def _compile_rule(index: int, r: ScoringRule) -> _Rule:
    w = r.when

    def opt(v: tuple[str, ...] | None) -> frozenset[str] | None:
        return frozenset(v) if v is not None else None

    return _Rule(
        index=index,
        id=r.id,
        group=r.group,
        points=r.points,
        repeat=r.repeat,
        per_field=r.per_field,
        cap_points=r.cap.points if r.cap else None,
        cap_period=r.cap.period if r.cap else None,
        channels=opt(w.channel),
        stores=opt(w.store),
        campaigns=opt(w.campaign),
        data=tuple((f, t.exists, tuple(t.tests())) for f, t in w.data.items()),
    )


_COMPILED: dict[int, tuple[weakref.ref[RuleSet], dict[str, tuple[_Rule, ...]]]] = {}


def _compiled(rules: RuleSet) -> dict[str, tuple[_Rule, ...]]:
    """Rules by event type, in file order; built once per RuleSet object (cached by identity)."""
    key = id(rules)
    hit = _COMPILED.get(key)
    if hit is not None and hit[0]() is rules:
        return hit[1]
    table: dict[str, list[_Rule]] = {}
    for i, r in enumerate(rules.scoring.rules):
        table.setdefault(r.event, []).append(_compile_rule(i, r))
    frozen = {k: tuple(v) for k, v in table.items()}

    def forget(ref: weakref.ref[RuleSet], key: int = key) -> None:
        entry = _COMPILED.get(key)
        if entry is not None and entry[0] is ref:
            del _COMPILED[key]

    _COMPILED[key] = (weakref.ref(rules, forget), frozen)
    return frozen


def campaign_of(fact: Fact) -> str | None:
    """The fact's campaign: ``Fact.campaign_id``, else the data's ``campaign_id``."""
    if fact.campaign_id is not None:
        return fact.campaign_id
    c = fact.data.get("campaign_id")
    return c if isinstance(c, str) else None


def _matches(r: _Rule, fact: Fact) -> bool:
    if r.channels is not None and fact.channel not in r.channels:
        return False
    if r.stores is not None and fact.store_id not in r.stores:
        return False
    if r.campaigns is not None and campaign_of(fact) not in r.campaigns:
        return False
    for name, exists, tests in r.data:
        # a missing or null field fails every test but ``ne`` and ``exists = false``
        value = fact.data.get(name)
        if exists is not None and (value is not None) != exists:
            return False
        for op, expected in tests:
            if not compare(op, value, expected):
                return False
    return True


def _repeat_key(r: _Rule, fact: Fact) -> Any:
    """The key a once-rule fires once per; ``None`` means the fact cannot match."""
    if r.repeat == "once":
        return ()
    if r.repeat == "once_per_campaign":
        return campaign_of(fact)
    if r.repeat == "once_per_store":
        return fact.store_id
    if r.repeat == "once_per_session":
        return fact.session_id
    assert r.per_field is not None
    return fact.data.get(r.per_field)


def _period(period: str, t: datetime) -> tuple[int, ...]:
    if t.tzinfo is None:
        raise ValueError("fact times must be timezone-aware")
    u = t.astimezone(UTC)
    if period == "day":
        return (u.year, u.month, u.day)
    if period == "week":  # ISO week: Monday to Sunday
        iso = u.isocalendar()
        return (iso.year, iso.week)
    return (u.year, u.month)


def derive_ledger(facts: Iterable[Fact], rules: RuleSet) -> list[LedgerLine]:
    """The ledger lines the facts earn under ``rules``, in (occurred_at, event_id, rule) order.

    Per fact, every rule for its type is tried in file order. A rule fires when its
    conditions hold, its repeat key (if any) has not fired before, and its cap for the
    fact's UTC period has room; a cap may award part of the points. Zero-point awards
    (cap exhausted) write no line.
    """
    table = _compiled(rules)
    version = rules.version
    fired: set[tuple[int, Any]] = set()
    used: dict[tuple[int, tuple[int, ...]], int] = {}
    out: list[LedgerLine] = []
    for fact in ordered(facts):
        candidates = table.get(fact.type)
        if not candidates:
            continue
        for r in candidates:
            if not _matches(r, fact):
                continue
            if r.repeat != "always":
                key = _repeat_key(r, fact)
                if key is None or (r.index, key) in fired:
                    continue
                fired.add((r.index, key))
            points = r.points
            if r.cap_points is not None:
                assert r.cap_period is not None
                slot = (r.index, _period(r.cap_period, fact.occurred_at))
                room = r.cap_points - used.get(slot, 0)
                size = min(abs(points), room)
                if size <= 0:
                    continue
                used[slot] = used.get(slot, 0) + size
                points = size if points > 0 else -size
            out.append(LedgerLine(fact.event_id, r.id, version, r.group, points, fact.occurred_at))
    return out


# -- totals ----------------------------------------------------------------------------------


def decay_factor(since: datetime, at: datetime, half_life_s: float) -> float:
    """``2^(−(at − since)/half_life)``; 1.0 when the half-life is infinite."""
    return math.exp2(-(at - since).total_seconds() / half_life_s)


def _explained(
    ledger: Iterable[LedgerLine], rules: RuleSet, at: datetime
) -> tuple[list[ExplainedLine], Scores, int]:
    h = rules.half_life_s
    kept = sorted(
        (ln for ln in ledger if ln.occurred_at <= at),
        key=lambda ln: (ln.occurred_at, ln.event_id, ln.rule_id),
    )
    lines = [ExplainedLine(ln, ln.points * decay_factor(ln.occurred_at, at, h)) for ln in kept]
    groups = sorted({r.group for r in rules.scoring.rules} | {ln.group for ln in kept})
    raw: dict[str, int] = dict.fromkeys(groups, 0)
    parts: dict[str, list[float]] = {g: [] for g in groups}
    for e in lines:
        raw[e.line.group] += e.line.points
        parts[e.line.group].append(e.decayed)
    scores = Scores(
        total_raw=sum(raw.values()),
        total_decayed=math.fsum(e.decayed for e in lines),
        by_group_raw=raw,
        by_group_decayed={g: math.fsum(p) for g, p in parts.items()},
    )
    return lines, scores, len(kept)


def score_totals(ledger: Iterable[LedgerLine], rules: RuleSet, at: datetime) -> Scores:
    """Raw and decayed totals (overall and per group) of the lines with occurred_at <= at.

    Every group named in the rules is present (0 when it has no lines).
    """
    return _explained(ledger, rules, at)[1]


def explain(ledger: Sequence[LedgerLine], rules: RuleSet, at: datetime) -> Explanation:
    """The lines behind ``score_totals(ledger, rules, at)``, each with its decayed contribution."""
    lines, scores, kept = _explained(ledger, rules, at)
    return Explanation(at=at, lines=lines, scores=scores, later_lines=len(ledger) - kept)


def decay_anchor(ledger: Iterable[LedgerLine], rules: RuleSet) -> tuple[datetime | None, float]:
    """The decayed score as one number anchored at the latest line: ``(ref, s)``.

    ``s = fsum(points × 2^((t − ref)/h))`` (exponents ≤ 0: no overflow; lines hundreds of
    half-lives old underflow to 0, as they should). For any ``at >= ref`` the decayed total
    is ``s × 2^(−(at − ref)/h)`` (``decayed_at``), equal to ``score_totals(…).total_decayed``
    up to float rounding (a few ulps); ``score_totals`` is the exact reference. ``(None, 0.0)``
    for an empty ledger.
    """
    lines = list(ledger)
    if not lines:
        return None, 0.0
    ref = max(ln.occurred_at for ln in lines)
    h = rules.half_life_s
    return ref, math.fsum(ln.points * decay_factor(ln.occurred_at, ref, h) for ln in lines)


def decayed_at(anchor: tuple[datetime | None, float], rules: RuleSet, at: datetime) -> float:
    """The decayed total at ``at`` (>= the anchor's ref) from a ``decay_anchor``."""
    ref, s = anchor
    if ref is None:
        return 0.0
    if at < ref:
        raise ValueError("an anchor gives the score at or after its reference time only")
    return s * decay_factor(ref, at, rules.half_life_s)


#: the origin of ``score_order``'s keys (any fixed instant would do)
ORDER_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def score_order(ref_at: datetime | None, ref_sum: float, rules: RuleSet) -> dict[str, Any]:
    """Columns that sort profiles by decayed score, the same order at every instant.

    Every profile's score decays by the same factor ``2^(−t/h)``, so comparing scores now
    is comparing ``s × 2^((ref − epoch)/h)`` (for anchors at or before now), whose log is
    ``log2|s| + (ref − epoch)/h``: a key that never changes until the profile is
    re-derived, and so can be indexed and paged through with a stable cursor. Sorting by
    ``(score_sign, score_key)`` is sorting by score (``score_key`` is negated for
    negative scores: the larger the magnitude, the lower the score).
    """
    if ref_at is None or ref_sum == 0.0:
        return {"score_sign": 0, "score_key": 0.0}
    h = rules.half_life_s
    key = math.log2(abs(ref_sum)) + ((ref_at - ORDER_EPOCH).total_seconds() / h)
    return {"score_sign": 1 if ref_sum > 0 else -1, "score_key": key if ref_sum > 0 else -key}
