"""The funnel: how many distinct profiles reached each stage, and how many dropped off.

A pure aggregate over stage-reach records (one per profile and stage, as
``journeys.stage_history`` makes them), filtered by the record's campaign and store and
by ``first_reached_at`` in ``[start, end)``.

A profile counts at a stage when it has a kept record at that stage *or any later one*:
a profile that reached a later stage has passed every earlier stage, even when the
filter keeps only the later record (say, the campaign was credited with the order but
not with the first email open). So the numbers add up the way a marketer reads them:
each stage is at most the one before it, ``drop_off_from_previous`` is the previous
stage's count minus this one's (0 for the first stage), the drop-offs plus the last
stage make the first, and ``conversion_from_first`` is this stage's share of the first
stage (0.0 when the first stage is empty).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from central_api.domain.journeys.journey_rules import STAGE_INDEX, STAGES
from central_api.domain.journeys.journeys import StageReached


@dataclass(frozen=True, slots=True)
class StageRow:
    profile_id: str
    stage: str
    first_reached_at: datetime
    campaign_id: str | None = None
    store_id: str | None = None


class FunnelStage(NamedTuple):
    stage: str
    profiles: int
    drop_off_from_previous: int
    conversion_from_first: float


@dataclass(frozen=True, slots=True)
class Funnel:
    stages: list[FunnelStage]

    @property
    def entered(self) -> int:
        """Profiles in the funnel at all (the first stage's count)."""
        return self.stages[0].profiles if self.stages else 0


def funnel(
    stage_rows: Iterable[StageRow],
    *,
    campaign: str | None = None,
    store: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Funnel:
    """Count distinct profiles per stage over the rows the filters keep (None = any).

    Raises ``ValueError`` for a row naming a stage that is not in ``STAGES``.
    """
    furthest: dict[str, int] = {}  # profile -> index of the furthest stage kept
    for row in stage_rows:
        try:
            index = STAGE_INDEX[row.stage]
        except KeyError:
            raise ValueError(f"unknown funnel stage {row.stage!r}") from None
        if campaign is not None and row.campaign_id != campaign:
            continue
        if store is not None and row.store_id != store:
            continue
        if start is not None and row.first_reached_at < start:
            continue
        if end is not None and row.first_reached_at >= end:
            continue
        if index > furthest.get(row.profile_id, -1):
            furthest[row.profile_id] = index

    ending = [0] * len(STAGES)  # profiles whose furthest stage is this one
    for index in furthest.values():
        ending[index] += 1
    counts = [0] * len(STAGES)
    running = 0
    for index in reversed(range(len(STAGES))):
        running += ending[index]
        counts[index] = running

    first = counts[0]
    return Funnel(
        [
            FunnelStage(
                stage=stage,
                profiles=n,
                drop_off_from_previous=counts[i - 1] - n if i else 0,
                conversion_from_first=n / first if first else 0.0,
            )
            for i, (stage, n) in enumerate(zip(STAGES, counts, strict=True))
        ]
    )


def rows_for(profile_id: str, history: Iterable[StageReached]) -> list[StageRow]:
    """A profile's ``journeys.stage_history`` as funnel rows."""
    return [
        StageRow(profile_id, s.stage, s.first_reached_at, s.campaign_id, s.store_id)
        for s in history
    ]
