"""Profile attributes: explicit ones (set by an integration) and derived ones (from facts).

Derived attributes are declared in the rules file (``[[attributes.derived]]``) and are
pure functions of the profile's set of facts: ``count``, ``sum`` (``math.fsum``, so the
same bits in any order), ``max``, ``min``, ``distinct`` (count of distinct values) and
``latest`` (the value at the latest fact by ``(occurred_at, event_id)``). A window
(``within_days``) is measured back from the profile's latest fact, not from the clock:
the result then depends on the facts alone, so a re-derivation tomorrow, a late event or
another worker gives the same value, and what a profile "did in its last 90 days of
activity" is what grading is about. A profile that goes quiet keeps its value until
its next fact; the behavioural score is what decays with time.

The grade is computed on both kinds together; an explicit value wins over a derived
one of the same name (the rules loader refuses declaring a name as both, and the
attributes API refuses setting a name the active rules derive, so this happens only for
a value set before a rules change started deriving it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from ..facts import Fact, ordered
from .rules import AttributeType, DerivedAttribute, RuleSet, compare
from .scoring import campaign_of

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NAME_RULE = "not an attribute name ([a-z][a-z0-9_]*, at most 64 characters)"
MAX_STRING = 200
#: explicit attributes a profile may hold
MAX_ATTRIBUTES = 64


class BadAttribute(ValueError):
    """An explicit attribute the rules refuse: ``name`` and a human ``reason``."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


def _matches(d: DerivedAttribute, fact: Fact) -> bool:
    w = d.when
    if w.channel is not None and fact.channel not in w.channel:
        return False
    if w.store is not None and fact.store_id not in w.store:
        return False
    if w.campaign is not None and campaign_of(fact) not in w.campaign:
        return False
    for name, test in w.data.items():
        value = fact.data.get(name)
        if test.exists is not None and (value is not None) != test.exists:
            return False
        for op, expected in test.tests():
            if not compare(op, value, expected):
                return False
    return True


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _aggregate(d: DerivedAttribute, facts: list[Fact]) -> Any:
    if d.aggregate == "count":
        return len(facts)
    assert d.field is not None
    values = [f.data.get(d.field) for f in facts]
    present = [v for v in values if v is not None]
    if d.aggregate == "distinct":
        # 1 and 1.0 are one value, True and 1 are two (as everywhere in the rules)
        return len({(type(v) is bool, v) for v in present if isinstance(v, str | int | float)})
    if d.aggregate == "latest":
        return present[-1] if present else None  # facts are in (occurred_at, event_id) order
    numbers = [v for v in present if _number(v)]
    if d.aggregate == "sum":
        return math.fsum(numbers)
    if not numbers:
        return None
    return max(numbers) if d.aggregate == "max" else min(numbers)


def derive_attributes(facts: Iterable[Fact], rules: RuleSet) -> dict[str, Any]:
    """Every derived attribute the rules declare; ``latest``, ``max`` and ``min`` of
    nothing are left out (a missing attribute: no grading criterion applies)."""
    declared = rules.attributes.derived
    if not declared:
        return {}
    fs = ordered(facts)
    latest = fs[-1].occurred_at if fs else None
    by_type: dict[str, list[tuple[int, Fact]]] = {}
    for i, f in enumerate(fs):
        by_type.setdefault(f.type, []).append((i, f))
    out: dict[str, Any] = {}
    for d in declared:
        since = (
            latest - timedelta(days=d.within_days)
            if latest is not None and d.within_days is not None
            else None
        )
        candidates = [x for e in d.event for x in by_type.get(e, ())]
        if len(d.event) > 1:
            candidates.sort(key=lambda x: x[0])  # back in (occurred_at, event_id) order
        chosen = [
            f for _, f in candidates if (since is None or f.occurred_at >= since) and _matches(d, f)
        ]
        value = _aggregate(d, chosen)
        if value is not None:
            out[d.name] = value
    return out


def effective(explicit: Mapping[str, Any], derived: Mapping[str, Any]) -> dict[str, Any]:
    """What grading sees: derived attributes, overridden by explicit ones."""
    return {**derived, **explicit}


def check_value(name: str, value: Any, kind: AttributeType | None) -> Any:
    """An explicit attribute's value as stored; ``BadAttribute`` when it is refused.

    A string of at most ``MAX_STRING`` characters (no NUL), a finite number or a
    boolean; of the declared ``kind`` when the rules declare one.
    """
    if not NAME_RE.match(name):
        raise BadAttribute(name, NAME_RULE)
    if isinstance(value, bool):
        got = "bool"
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise BadAttribute(name, "not a finite number")
        if isinstance(value, int) and abs(value) > 2**53:
            raise BadAttribute(name, "a number beyond ±2^53 (not exact as JSON)")
        got = "number"
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            raise BadAttribute(name, f"longer than {MAX_STRING} characters")
        if "\x00" in value:
            raise BadAttribute(name, "contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadAttribute(name, "not valid Unicode (a lone surrogate)") from None
        got = "string"
    else:
        raise BadAttribute(name, "must be a string, a number, a boolean or null")
    if kind is not None and got != kind:
        raise BadAttribute(name, f"must be a {kind} (declared in the rules), got a {got}")
    return value


def apply_patch(
    current: Mapping[str, Any], patch: Mapping[str, Any], rules: RuleSet
) -> dict[str, Any]:
    """JSON merge patch (RFC 7396) of explicit attributes: ``null`` removes a name.

    Refuses names the active rules derive, values ``check_value`` refuses, and a result
    of more than ``MAX_ATTRIBUTES`` attributes. All problems are collected first:
    ``AttributeProblems`` lists every one.
    """
    if len(patch) > 2 * MAX_ATTRIBUTES:  # (every name removed and as many set)
        raise AttributeProblems(
            [BadAttribute("(attributes)", f"{len(patch)} names; at most {2 * MAX_ATTRIBUTES}")]
        )
    derived = {d.name for d in rules.attributes.derived}
    declared = rules.attributes.explicit
    out = dict(current)
    problems: list[BadAttribute] = []
    for name, value in patch.items():
        if name in derived:
            problems.append(BadAttribute(name, "derived by the rules; it cannot be set"))
            continue
        if value is None:
            if not NAME_RE.match(name):
                problems.append(BadAttribute(name, NAME_RULE))
            out.pop(name, None)
            continue
        try:
            out[name] = check_value(name, value, declared.get(name))
        except BadAttribute as err:
            problems.append(err)
    if not problems and len(out) > MAX_ATTRIBUTES:
        problems.append(
            BadAttribute("(attributes)", f"{len(out)} attributes; at most {MAX_ATTRIBUTES}")
        )
    if problems:
        raise AttributeProblems(problems)
    return out


class AttributeProblems(ValueError):
    def __init__(self, problems: list[BadAttribute]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
