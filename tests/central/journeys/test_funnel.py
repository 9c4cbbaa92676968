"""The funnel aggregate: counts per distinct profile that add up, with filters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central_api.domain.journeys.funnel import Funnel, FunnelStage, StageRow, funnel, rows_for
from central_api.domain.journeys.journey_rules import STAGES
from central_api.domain.journeys.journeys import stage_history

from .factory import T0, make

D = timedelta(days=1)


def reach(profile: str, upto: str, *, day: int = 0, campaign=None, store=None) -> list[StageRow]:
    """Rows for a profile that reached every stage up to ``upto`` on ``day``."""
    last = STAGES.index(upto)
    return [StageRow(profile, s, T0 + day * D, campaign, store) for s in STAGES[: last + 1]]


def counts(f: Funnel) -> list[int]:
    return [s.profiles for s in f.stages]


def test_counts_drop_offs_and_conversion() -> None:
    rows = (
        reach("a", "advocacy")
        + reach("b", "action")
        + reach("c", "action")
        + reach("d", "interest")
        + reach("d", "interest")  # the same profile twice still counts once
    )
    f = funnel(rows)
    assert f.stages == [
        FunnelStage("awareness", 4, 0, 1.0),
        FunnelStage("interest", 4, 0, 1.0),
        FunnelStage("desire", 3, 1, 0.75),
        FunnelStage("action", 3, 0, 0.75),
        FunnelStage("delivery_use", 1, 2, 0.25),
        FunnelStage("advocacy", 1, 0, 0.25),
    ]
    assert f.entered == 4
    stage, profiles, drop, conversion = f.stages[2]  # a plain tuple, too
    assert (stage, profiles, drop, conversion) == ("desire", 3, 1, 0.75)


def test_a_later_stage_alone_counts_at_every_earlier_stage() -> None:
    f = funnel([StageRow("a", "action", T0), StageRow("b", "interest", T0)])
    assert counts(f) == [2, 2, 1, 1, 0, 0]


def test_empty() -> None:
    f = funnel([])
    assert counts(f) == [0] * 6
    assert [s.conversion_from_first for s in f.stages] == [0.0] * 6
    assert f.entered == 0


def test_unknown_stage_is_an_error() -> None:
    with pytest.raises(ValueError, match="purchase"):
        funnel([StageRow("a", "purchase", T0)])


def _mixed() -> list[StageRow]:
    return (
        reach("a", "action", campaign="c1", store="s1")
        + reach("b", "desire", campaign="c1", store="s2", day=5)
        + reach("c", "advocacy", campaign="c2", store="s1", day=10)
        + [StageRow("d", "awareness", T0, "c1", None), StageRow("d", "action", T0 + 9 * D)]
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [4, 4, 4, 3, 1, 1]),
        ({"campaign": "c1"}, [3, 2, 2, 1, 0, 0]),
        ({"campaign": "c2"}, [1, 1, 1, 1, 1, 1]),
        ({"store": "s1"}, [2, 2, 2, 2, 1, 1]),
        ({"campaign": "c1", "store": "s2"}, [1, 1, 1, 0, 0, 0]),
        ({"start": T0 + 5 * D}, [3, 3, 3, 2, 1, 1]),  # d counts by its action on day 9
        ({"end": T0 + 5 * D}, [2, 1, 1, 1, 0, 0]),
        ({"start": T0 + 5 * D, "end": T0 + 10 * D}, [2, 2, 2, 1, 0, 0]),  # end is excluded
        ({"start": T0 + 10 * D, "end": T0 + 10 * D}, [0] * 6),
        ({"campaign": "nope"}, [0] * 6),
    ],
)
def test_filters(filters: dict, expected: list[int]) -> None:
    f = funnel(_mixed(), **filters)
    assert counts(f) == expected
    assert all(s.drop_off_from_previous >= 0 for s in f.stages)
    assert sum(s.drop_off_from_previous for s in f.stages) + f.stages[-1].profiles == expected[0]


def test_rows_for_a_stage_history() -> None:
    opened = make("email.opened", T0, data={"campaign_id": "c1"})
    order = make("order.placed", T0 + D, data={"pickup_store_id": "s3"})
    rows = rows_for("p1", stage_history([opened, order]))
    assert rows[0] == StageRow("p1", "awareness", T0, "c1", None)
    assert rows[-1] == StageRow("p1", "action", T0 + D, "c1", "s3")
    assert counts(funnel(rows, store="s3")) == [1, 1, 1, 1, 0, 0]
