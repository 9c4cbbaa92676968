"""``GET /api/v1/funnel``: profiles per funnel stage, with drop-off, by campaign, store and
date range; plus the anonymous campaign scan counts for the same filters.

Without ``campaign`` the stages are the profiles' own (``stages_reached``: each stage
credited to the campaign of the fact that first reached it). With ``campaign`` they are
what the profiles did under that campaign (``journeys.campaign_stage_history``): its
own facts and everything after one of them within the attribution window."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, select

from central_api.domain.campaigns.reads import campaign_stage_rows
from central_api.domain.journeys.funnel import StageRow, funnel
from central_api.domain.journeys.journey_rules import Stage
from central_api.domain.scoring.active_rules import active_rules
from central_api.store.profile_tables import campaign_counts, profiles, stages_reached

from .auth import get_engine, guarded
from .errors import ApiError, problem_type
from .profile_schemas import PLAIN, UtcTime
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["funnel"])

Id = Annotated[str | None, Query(max_length=64, pattern=PLAIN)]
#: days after a campaign's event that what a profile does is credited to it
WindowDays = Annotated[
    float | None,
    Query(
        ge=0,
        le=366,
        allow_inf_nan=False,
        description="attribution window in days: what a profile does less than this long "
        "after a campaign's event is credited to the campaign (default: the rules' "
        "`[journey] attribution_window_days`)",
    ),
]


class FunnelStageOut(BaseModel):
    stage: Stage
    profiles: int = Field(description="profiles that reached this stage or a later one")
    drop_off_from_previous: int = Field(description="previous stage's profiles − this one's")
    conversion_from_first: float = Field(description="this stage's share of the first stage")


class FunnelOut(BaseModel):
    campaign: str | None
    store: str | None
    start: Timestamp | None
    end: Timestamp | None
    entered: int = Field(description="profiles in the funnel: the first stage's count")
    stages: list[FunnelStageOut] = Field(description="every stage, in funnel order")
    campaign_scans: int = Field(
        description="campaign.scanned events counted anonymously (with or without consent) "
        "for the same campaign and store, on the UTC days the range touches"
    )


def utc_days(start: datetime | None, end: datetime | None) -> tuple[str | None, str | None]:
    """Scans are counted per UTC day: the days from start's through the one holding the
    last instant before ``end``, as ``[first, stop)`` ISO dates."""
    first = start.date().isoformat() if start else None
    stop = None
    if end is not None and end.time() == time(0):
        stop = end.date().isoformat()
    elif end is not None and end.date() < date.max:
        stop = (end.date() + timedelta(days=1)).isoformat()
    return first, stop


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start >= end:
        detail = "end must be after start"
        raise ApiError(422, detail, type_=problem_type("invalid-request"),
                       errors=[{"location": "query", "field": "end", "detail": detail,
                                "type": "value_error"}])  # fmt: skip


@router.get(
    "/funnel",
    response_model=FunnelOut,
    summary="Funnel: profiles per stage and drop-off, by campaign, store and date range",
    **guarded("marketer"),
)
def get_funnel(
    engine: Annotated[Engine, Depends(get_engine)],
    campaign: Annotated[Id, Query(description="only stages credited to this campaign")] = None,
    store: Annotated[Id, Query(description="only stages credited to this store")] = None,
    start: Annotated[UtcTime | None, Query(description="stages first reached at or after")] = None,
    end: Annotated[UtcTime | None, Query(description="stages first reached before")] = None,
    window_days: WindowDays = None,
) -> dict[str, Any]:
    """A profile counts at a stage when a stage record that the filters keep is at that
    stage or a later one, so each stage is at most the one before it and the drop-offs
    plus the last stage add up to the first. Only profiles with profiling consent have
    stage records; merged profiles are left out (their history is the survivor's).

    With `campaign`, a profile's stages are those reached under the campaign: by the
    campaign's own events (its scans, its recipients' check-ins, its emails) and by
    whatever the profile did after one of them, within `window_days`, in the kiosk
    session or online."""
    check_range(start, end)
    sr = stages_reached.c
    q = (
        select(sr.profile_id, sr.stage, sr.first_reached_at, sr.campaign_id, sr.store_id)
        .join(profiles, profiles.c.id == sr.profile_id)
        .where(profiles.c.status == "active")
    )
    scans = select(func.coalesce(func.sum(campaign_counts.c.scans), 0))
    if campaign is not None:
        q = q.where(sr.campaign_id == campaign)
        scans = scans.where(campaign_counts.c.campaign_id == campaign)
    if store is not None:
        q = q.where(sr.store_id == store)
        scans = scans.where(campaign_counts.c.store_id == store)
    if start is not None:
        q = q.where(sr.first_reached_at >= start)
    if end is not None:
        q = q.where(sr.first_reached_at < end)
    first_day, stop_day = utc_days(start, end)
    if first_day is not None:
        scans = scans.where(campaign_counts.c.day >= first_day)
    if stop_day is not None:
        scans = scans.where(campaign_counts.c.day < stop_day)
    with engine.connect() as conn:
        if campaign is None:
            rows = [StageRow(*r) for r in conn.execute(q)]
        else:
            journey = active_rules(conn).journey
            days = journey.attribution_window_days if window_days is None else window_days
            rows = campaign_stage_rows(conn, campaign, journey, days)
        scanned = int(conn.execute(scans).scalar_one())
    # (the SQL filters are funnel()'s own; passing them again keeps one definition)
    f = funnel(rows, campaign=campaign, store=store, start=start, end=end)
    return {
        "campaign": campaign,
        "store": store,
        "start": start,
        "end": end,
        "entered": f.entered,
        "stages": [s._asdict() for s in f.stages],
        "campaign_scans": scanned,
    }
