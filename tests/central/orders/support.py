"""Building orders and pickup confirmations for the click-and-collect tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from central_api.ingest import Incoming
from edge_sync.protocol import format_ts, new_event_id, topics

STORE = "s042"


def order_body(external_id: str = "WEB-1", **over: Any) -> dict[str, Any]:
    body = {
        "external_id": external_id,
        "store_id": STORE,
        "customer_id": "C-100",
        "lines": [
            {"sku": "SKU-1", "name": "Tent", "quantity": 1, "unit_price": 199.0},
            {"sku": "SKU-2", "quantity": 2, "unit_price": 5.5},
        ],
    }
    body.update(over)
    return body


def confirmed(
    order_id: str,
    at: datetime,
    device: str,
    seq: int,
    staff: str = "st-1",
    store: str = STORE,
    token_hash: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"order_id": order_id, "staff_id": staff, "items": 3, "method": "qr"}
    if token_hash is not None:
        data["token_hash"] = token_hash
    return {
        "id": new_event_id(), "seq": seq, "type": "pickup.confirmed", "v": 1,
        "store_id": store, "device_id": device, "occurred_at": format_ts(at),
        "mono_ns": seq * 1000, "boot_id": f"boot-{device}", "clock_synced": True,
        "session_id": f"staff-{device}", "data": data,
    }  # fmt: skip


def batch(evs: list[dict[str, Any]], device: str, store: str = STORE) -> dict[str, Any]:
    return {"batch_id": new_event_id(), "device_id": device, "store_id": store, "events": evs}


def incoming(evs: list[dict[str, Any]], device: str, at: datetime | None = None) -> Incoming:
    doc = batch(evs, device)
    return Incoming(topics.events(STORE, device), json.dumps(doc).encode(), at)
