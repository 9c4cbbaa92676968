"""Scores rounded for people, with parts that still add up to the shown total.

Rounding each line of a score on its own can make the shown lines sum to 0.1 more or
less than the shown total. ``round_parts`` rounds by largest remainder instead: every
part goes to its value rounded down or up to the unit, and the units the total needs
go to the parts with the largest remainders (ties to the earlier part), so the parts
add up exactly — in units of ``10^-places`` — to the rounded total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

#: decimals shown for decayed scores
PLACES = 1


def round_total(value: float, places: int = PLACES) -> float:
    """``value`` to ``places`` decimals (``round``: from the exact binary value)."""
    return round(value, places)


def round_parts(
    values: Sequence[float], total: float | None = None, places: int = PLACES
) -> list[float]:
    """``values`` rounded to ``places`` decimals, summing to ``round_total(total)``
    (``total`` defaults to the exact sum of the values)."""
    scale = 10**places
    # (through round_total, so the parts add up to exactly what round_total shows)
    target = round(round_total(math.fsum(values) if total is None else total, places) * scale)
    scaled = [v * scale for v in values]
    units = [math.floor(v) for v in scaled]
    short = target - sum(units)
    if values:
        # largest remainder first; a total that is not the parts' own sum (a rounded
        # group total) can ask for more units than there are parts, or fewer than none
        order = sorted(range(len(values)), key=lambda i: (-(scaled[i] - units[i]), i))
        step = 1 if short > 0 else -1
        if step < 0:
            order.reverse()
        for n in range(abs(short)):
            units[order[n % len(order)]] += step
    return [u / scale for u in units]


def round_groups(
    total: float, groups: Mapping[str, float], places: int = PLACES
) -> tuple[float, dict[str, float]]:
    """The rounded total and per-group values that add up to it."""
    names = list(groups)
    parts = round_parts([groups[g] for g in names], total, places)
    return round_total(total, places), dict(zip(names, parts, strict=True))
