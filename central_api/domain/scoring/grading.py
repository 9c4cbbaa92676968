"""The grade: how good a fit a profile is, A+ … F, from its attributes.

A grade starts at ``[grading] start`` (D by default) and every matching criterion moves it
by its ``steps``, each a third of a letter (D → D+ → C- → …); the result is clamped to
F … A+. Criteria are applied together (the net number of steps is clamped once, so the
order of criteria never matters). A criterion whose attribute is missing or null does
not apply; ordering operators apply only to numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from central_api.domain.scoring.rules import GRADES, RuleSet, compare

_RANK = {g: i for i, g in enumerate(GRADES)}


def grade_rank(letter: str) -> int:
    """0 for F … 12 for A+; ``ValueError`` for anything else."""
    try:
        return _RANK[letter]
    except KeyError:
        raise ValueError(f"not a grade: {letter!r} (one of {', '.join(GRADES)})") from None


def grade_at_least(letter: str, minimum: str) -> bool:
    """``grade_at_least("B+", "B")`` is true; ``grade_at_least("B-", "B")`` is not."""
    return grade_rank(letter) >= grade_rank(minimum)


def move(letter: str, steps: int) -> str:
    """``letter`` moved by ``steps`` thirds of a letter, clamped to F … A+."""
    return GRADES[max(0, min(len(GRADES) - 1, grade_rank(letter) + steps))]


@dataclass(frozen=True, slots=True)
class Grade:
    letter: str
    #: net steps of the matching criteria, before clamping
    steps: int
    #: ids of the criteria that matched, in file order
    matched: list[str]

    @property
    def rank(self) -> int:
        return grade_rank(self.letter)

    def at_least(self, minimum: str) -> bool:
        return grade_at_least(self.letter, minimum)


def grade(attributes: Mapping[str, Any], rules: RuleSet) -> Grade:
    steps = 0
    matched: list[str] = []
    for c in rules.grading.criteria:
        value = attributes.get(c.attribute)
        if value is None:
            continue
        if compare(c.op, value, c.value):
            steps += c.steps
            matched.append(c.id)
    return Grade(move(rules.grading.start, steps), steps, matched)
