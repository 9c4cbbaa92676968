"""Facts of real event types with data validated by the event schemas, for journey tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from central_api.domain.facts import Fact
from edge_sync.protocol.online import ONLINE_REGISTRY
from edge_sync.protocol.schemas import REGISTRY

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)

KIOSK_TYPES = sorted({t.name for t in REGISTRY})
ONLINE_TYPES = sorted({t.name for t in ONLINE_REGISTRY})
ALL_TYPES = KIOSK_TYPES + ONLINE_TYPES

#: the smallest valid data for each type; tests override fields
BASE_DATA: dict[str, dict[str, Any]] = {
    "session.started": {"trigger": "touch"},
    "session.ended": {"reason": "done", "duration_ms": 1000},
    "product.searched": {"query": "kettle", "results": 3, "in_stock_results": 2},
    "product.viewed": {"sku": "sku-1", "source": "search", "in_stock": True},
    "qr.scanned": {"valid": True, "kind": "p"},
    "visit.linked": {"profile_id": "p1", "method": "qr"},
    "campaign.scanned": {"campaign_id": "c1"},
    "pickup.confirmed": {"order_id": "o1", "staff_id": "staff1", "items": 1, "method": "qr"},
    "pickup.refused": {"order_id": "o1", "staff_id": "staff1", "reason": "not_ready"},
    "consent.recorded": {
        "purpose": "marketing",
        "granted": True,
        "method": "kiosk_prompt",
        "text_version": "v1",
    },
    "email.opened": {"campaign_id": "c1", "message_id": "m1"},
    "email.clicked": {"campaign_id": "c1", "message_id": "m1", "url": "https://shop/x"},
    "web.visited": {"url": "https://shop/"},
    "cart.updated": {"cart_id": "k1", "items": 1, "value": 10.0},
    "checkout.started": {"cart_id": "k1", "value": 10.0},
    "order.placed": {"order_id": "o1", "value": 10.0, "items": 1},
    "review.posted": {"rating": 5},
    "qr.opened": {"campaign_id": "c1", "token_kind": "c", "token_hash": "ab" * 16},
    "survey.answered": {"context": "visit", "rating": 3},
}

_ids = itertools.count(1)


def new_id() -> str:
    return f"00000000-0000-7000-8000-{next(_ids):012d}"


def validated(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    registry = REGISTRY if type_ in KIOSK_TYPES else ONLINE_REGISTRY
    return registry.validate_data(type_, 1, data)


def default_channel(type_: str) -> str:
    if type_ in KIOSK_TYPES:
        return "kiosk"
    return "email" if type_.startswith("email.") else "web"


def make(
    type_: str,
    at: datetime = T0,
    data: dict[str, Any] | None = None,
    *,
    event_id: str | None = None,
    channel: str | None = None,
    store: str = "s042",
    campaign: str | None = None,
) -> Fact:
    """A fact of ``type_``: ``BASE_DATA`` with ``data`` over it, validated; kiosk facts get
    a store and device, online ones none."""
    kiosk = type_ in KIOSK_TYPES
    return Fact(
        event_id=event_id or new_id(),
        type=type_,
        v=1,
        occurred_at=at,
        channel=channel or default_channel(type_),
        store_id=store if kiosk else None,
        device_id=f"{store}-k1" if kiosk else None,
        session_id="sess-1" if kiosk else None,
        campaign_id=campaign,
        data=validated(type_, {**BASE_DATA[type_], **(data or {})}),
    )
