"""``GET /api/v1/stats``: what central has ingested (``python main.py central stats --json``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from central_api.stats import collect_stats

from .auth import get_engine, guarded

router = APIRouter(prefix="/api/v1", tags=["stats"])


class _ChannelStats(BaseModel):
    model_config = ConfigDict(extra="allow")

    events_stored: int
    duplicates_ignored: int
    dead_letters: int = Field(description="the sum of dead_letters_by_reason")
    dead_letters_by_reason: dict[str, int]


class KioskStats(_ChannelStats):
    messages: int = Field(description="MQTT messages received")


class OnlineStats(_ChannelStats):
    requests: int = Field(description="POST /api/v1/events requests answered")


class ByChannel(BaseModel):
    kiosk: KioskStats = Field(description="events that arrived over MQTT from the devices")
    online: OnlineStats = Field(description="events that arrived over POST /api/v1/events")


class Stats(BaseModel):
    # collect_stats may grow fields; they pass through rather than vanish
    model_config = ConfigDict(extra="allow")

    generated_at: str = Field(examples=["2026-11-23T10:15:02.118Z"])
    events_stored: int = Field(description="kiosk + online")
    duplicates_ignored: int = Field(description="kiosk + online")
    dead_letters: int = Field(description="the sum of dead_letters_by_reason, and of both channels")
    dead_letters_by_reason: dict[str, int]
    messages: int = Field(description="MQTT messages received (online requests: by_channel)")
    by_channel: ByChannel
    devices_by_health: dict[str, int]
    devices: list[dict[str, Any]]
    events_by_device_type: dict[str, dict[str, int]]


@router.get(
    "/stats",
    response_model=Stats,
    summary="Ingest totals by channel, dead letters by reason, devices by health",
    **guarded("marketer"),
)
def get_stats(engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    return collect_stats(engine)
