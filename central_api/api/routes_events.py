"""``POST /api/v1/events``: online touchpoints from email, web and shop systems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from central_api.domain.online.online import MAX_EVENTS_PER_REQUEST, ingest_online
from central_api.domain.scoring.active_rules import active_rules

from .auth import get_engine, guarded
from .online_schemas import online_event_items

router = APIRouter(prefix="/api/v1", tags=["events"])


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: each checked on its own, so one bad event does not hold back the rest: the items
    #: are taken as any JSON here and documented with their real schemas
    events: list[Any] = Field(
        min_length=1,
        max_length=MAX_EVENTS_PER_REQUEST,
        description="online events, one of the types below each; an invalid one is listed in "
        "`rejected` (and kept as a dead letter) while the others are stored",
        json_schema_extra={"items": online_event_items()},
    )


class Rejected(BaseModel):
    index: int
    id: str | None
    reason: str = Field(examples=["schema_violation"])
    detail: str


class EventsOut(BaseModel):
    accepted: list[str]
    #: already stored (a resend): not applied again
    duplicates: list[str]
    rejected: list[Rejected]


@router.post(
    "/events",
    response_model=EventsOut,
    summary="Ingest online touchpoints (idempotent by event id)",
    **guarded("integration"),
)
def post_events(body: EventsIn, engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    with engine.connect() as conn:
        rules = active_rules(conn)
    result = ingest_online(engine, body.events, datetime.now(UTC), rules)
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
    }
