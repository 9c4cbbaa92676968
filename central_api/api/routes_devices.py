"""``GET /api/v1/devices``: the fleet as IT sees it — which device is offline or silent, and why."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from central_api.domain.fleet.devices import DEFAULT_HEARTBEAT_INTERVAL_S, list_devices
from edge_sync.protocol import utcnow

from .auth import get_engine, guarded
from .pagination import Page, PageParams, decode_cursor, encode_cursor, page_in_memory, page_params
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["devices"])

Health = Literal["online", "silent", "offline", "unknown"]
_LISTING = "devices"


class Device(BaseModel):
    device_id: str
    store_id: str
    health: Health = Field(
        description="online | silent (says online, but nothing received for 3 of its "
        "heartbeat intervals) | offline | unknown (no status received yet)"
    )
    why: str = Field(description="a one-line explanation of the health, for IT")
    state: Literal["online", "offline", "unknown"] = Field(
        description="the last state the device (or its last will) reported"
    )
    state_changed_at: Timestamp | None
    state_reason: str | None
    silent: bool
    silent_for_s: float | None
    last_contact_at: Timestamp | None
    first_seen_at: Timestamp | None
    last_seen_at: Timestamp | None
    last_heartbeat_at: Timestamp | None
    last_status_at: Timestamp | None
    boot_id: str | None
    version: str | None
    config_version: int | None
    queue_depth: int | None = Field(description="events waiting in the device's outbox")
    queue_bytes: int | None
    oldest_unsent_age_s: float | None
    evicted_total: int | None = Field(description="analytics events the device dropped")
    dead_letters_device: int | None
    disk_free_bytes: int | None
    clock_synced: bool | None
    inflight_batches: int | None
    uptime_s: float | None
    heartbeat_s: float | None = Field(
        description="the heartbeat interval the device reports; silence is judged by it "
        "(60 s for a device that has not reported one)"
    )
    db_recovered: dict[str, Any] | None = Field(
        description="set when the device salvaged a corrupt outbox file (at most 4 KiB)"
    )


def _key(d: dict[str, Any]) -> tuple[str, str]:
    return (d["store_id"], d["device_id"])


@router.get(
    "/devices",
    response_model=Page[Device],
    summary="List devices with their health",
    **guarded("admin"),
)
def get_devices(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
    health: Annotated[Health | None, Query(description="only devices in this health")] = None,
    store_id: Annotated[
        str | None, Query(max_length=64, description="only this store's devices")
    ] = None,
) -> dict[str, Any]:
    """Devices by store and device id. ``health`` and ``why`` are computed at request
    time from the last status, heartbeat and message central received."""
    after = decode_cursor(page.cursor, _LISTING, (str, str)) if page.cursor else None
    with engine.connect() as conn:
        # (the domain lists the whole fleet; fine for thousands of devices)
        devices = list_devices(conn, utcnow(), DEFAULT_HEARTBEAT_INTERVAL_S)
    devices = [
        d
        for d in devices
        if (health is None or d["health"] == health)
        and (store_id is None or d["store_id"] == store_id)
    ]
    items, last = page_in_memory(devices, _key, after, page.limit)  # type: ignore[arg-type]
    return {
        "items": items,
        "limit": page.limit,
        "next": encode_cursor(_LISTING, last) if last else None,
    }
