"""The webhooks an order's outcome sends (docs/api.md, "Order webhooks"), queued in the
transaction that made the change, through the webhook outbox.

Keys: ``order:{id}:ready``, ``order:{id}:picked_up``, ``order:{id}:no_show`` (an order
reaches each state at most once) and ``order:{id}:conflict:{event id}`` (one per
confirmation that was not the handover, and one more per confirmation that was the
handover until an earlier one took its place).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from edge_sync.protocol import format_ts

from ..webhooks.webhooks import enqueue


def _ts(value: datetime | None) -> str | None:
    return format_ts(value) if value is not None else None


def order_summary(row: Any) -> dict[str, Any]:
    """What every order webhook says about the order, as it is after the change."""
    return {
        "order_id": row.id,
        "external_id": row.external_id,
        "store_id": row.store_id,
        "profile_id": row.profile_id,
        "state": row.state,
        "revision": row.revision,
        "state_at": _ts(row.state_at),
    }


def code_links(row: Any) -> dict[str, Any] | None:
    if row.code_text is None:
        return None
    base = f"/api/v1/orders/{row.id}/pickup-code"
    return {
        "url": row.code_text,
        "token_hash": row.code_hash,
        "valid_until": row.code_not_after.isoformat() if row.code_not_after else None,
        "png": base + ".png",
        "svg": base + ".svg",
    }


def pickup_of(row: Any) -> dict[str, Any] | None:
    if row.pickup_event_id is None:
        return None
    return {
        "picked_up_at": _ts(row.picked_up_at),
        "staff_id": row.picked_up_by,
        "device_id": row.picked_up_device,
        "event_id": row.pickup_event_id,
    }


def ready(conn: Connection, row: Any, now: datetime) -> None:
    data = {**order_summary(row), "pickup_code": code_links(row)}
    enqueue(conn, "order.ready", f"order:{row.id}:ready", data, now, row.profile_id)


def picked_up(conn: Connection, row: Any, now: datetime) -> None:
    data = {**order_summary(row), "pickup": pickup_of(row)}
    enqueue(conn, "order.picked_up", f"order:{row.id}:picked_up", data, now, row.profile_id)


def no_show(conn: Connection, row: Any, now: datetime) -> None:
    data = {**order_summary(row), "ready_at": _ts(row.ready_at)}
    enqueue(conn, "order.no_show", f"order:{row.id}:no_show", data, now, row.profile_id)


def conflict(
    conn: Connection,
    row: Any,
    event_id: str,
    kind: str,
    message: str,
    confirmation: dict[str, Any],
    winner: dict[str, Any] | None,
    winner_changed: bool,
    now: datetime,
) -> None:
    """``confirmation``: the one that is not the handover; ``winner``: the one that is
    (for a double pickup). ``winner_changed``: this confirmation arrived first and was
    announced as ``order.picked_up``, and an earlier one by store time replaced it;
    ``pickup`` then says the handover as it now stands."""
    data = {
        **order_summary(row),
        "kind": kind,
        "message": message,
        "confirmation": confirmation,
        "winner": winner,
        "winner_changed": winner_changed,
        "pickup": pickup_of(row),
    }
    key = f"order:{row.id}:conflict:{event_id}"
    enqueue(conn, "order.conflict", key, data, now, row.profile_id)
