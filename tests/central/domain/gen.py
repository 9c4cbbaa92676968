"""Facts for the domain tests: a builder for hand-made cases and hypothesis strategies.

Every fact's data is validated (and normalised) by the real event schemas, so the
engine is only ever tested on data that ingest would accept.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from central_api.domain.facts import Fact
from edge_sync.protocol import REGISTRY
from edge_sync.protocol.online import ONLINE_REGISTRY

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
KIOSK_TYPES = sorted({t.name for t in REGISTRY})
ONLINE_TYPES = sorted({t.name for t in ONLINE_REGISTRY})
_ids = itertools.count(1)


def validated(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    registry = REGISTRY if type_ in KIOSK_TYPES else ONLINE_REGISTRY
    return registry.validate_data(type_, 1, data)


def default_channel(type_: str) -> str:
    if type_ in KIOSK_TYPES:
        return "kiosk"
    return "email" if type_.startswith("email.") else "web"


def fact(
    type_: str,
    at: datetime | timedelta = timedelta(0),
    data: dict[str, Any] | None = None,
    *,
    id: str | None = None,
    channel: str | None = None,
    store: str | None = None,
    campaign: str | None = None,
    session: str | None = None,
) -> Fact:
    """A fact with valid data; ``at`` may be an offset from ``T0``; ids count up."""
    when = T0 + at if isinstance(at, timedelta) else at
    clean = validated(type_, data if data is not None else SAMPLE_DATA[type_])
    kiosk = type_ in KIOSK_TYPES
    return Fact(
        event_id=id or f"e{next(_ids):06d}",
        type=type_,
        v=1,
        occurred_at=when,
        channel=channel or default_channel(type_),
        store_id=store if store is not None else ("s1" if kiosk else None),
        device_id="s1-k1" if kiosk else None,
        session_id=session,
        campaign_id=campaign if campaign is not None else clean.get("campaign_id"),
        data=clean,
    )


SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "session.started": {"trigger": "touch"},
    "session.ended": {"reason": "done", "duration_ms": 30_000},
    "product.searched": {"query": "boots", "results": 3, "in_stock_results": 2},
    "product.viewed": {"sku": "sku-1", "source": "search", "in_stock": True},
    "qr.scanned": {"valid": True, "kind": "c"},
    "visit.linked": {"profile_id": "p1", "method": "qr"},
    "campaign.scanned": {"campaign_id": "c1"},
    "pickup.confirmed": {"order_id": "o1", "staff_id": "st1", "items": 1, "method": "qr"},
    "pickup.refused": {"order_id": "o1", "staff_id": "st1", "reason": "customer_absent"},
    "consent.recorded": {
        "purpose": "marketing",
        "granted": True,
        "method": "kiosk_prompt",
        "text_version": "v1",
    },
    "email.opened": {"campaign_id": "c1", "message_id": "m1"},
    "email.clicked": {"campaign_id": "c1", "message_id": "m1", "url": "https://x.test/a"},
    "web.visited": {"url": "https://x.test/"},
    "cart.updated": {"cart_id": "k1", "items": 1, "value": 20.0},
    "checkout.started": {"cart_id": "k1", "value": 20.0},
    "order.placed": {"order_id": "o1", "value": 50.0, "items": 1},
    "review.posted": {"rating": 5},
    "qr.opened": {"campaign_id": "c1", "token_kind": "c", "token_hash": "ab" * 16},
    "survey.answered": {"context": "pickup", "rating": 5, "order_id": "o1"},
}

# -- hypothesis ------------------------------------------------------------------------------

_campaign = st.sampled_from(["c1", "c2", "c3"])
_order = st.sampled_from(["o1", "o2", "o3", "o4"])
_cart = st.sampled_from(["k1", "k2"])
_message = st.sampled_from(["m1", "m2", "m3"])
_money = st.floats(0, 500, allow_nan=False).map(lambda v: round(v, 2))


def _opt(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


def _d(required: dict[str, Any], optional: dict[str, Any] | None = None) -> st.SearchStrategy:
    """Data with required fields and optional ones that are either left out or drawn."""
    opt = {k: _opt(v) for k, v in (optional or {}).items()}
    return st.fixed_dictionaries(required, optional=opt).map(
        lambda d: {k: v for k, v in d.items() if v is not None}
    )


DATA: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "session.started": _d({"trigger": st.sampled_from(["touch", "qr_scan"])}),
    "session.ended": _d(
        {"reason": st.just("done"), "duration_ms": st.sampled_from([0, 60_000, 120_000, 600_000])}
    ),
    "product.searched": _d(
        {"query": st.just("boots"), "results": st.integers(0, 9), "in_stock_results": st.just(0)}
    ),
    "product.viewed": _d(
        {
            "sku": st.sampled_from(["sku-1", "sku-2"]),
            "source": st.just("scan"),
            "in_stock": st.booleans(),
        },
        {"stock_qty": st.integers(0, 5)},
    ),
    "qr.scanned": _d({"valid": st.booleans()}),
    "visit.linked": _d(
        {"profile_id": st.just("p1"), "method": st.sampled_from(["qr", "staff"])},
        {"campaign_id": _campaign},
    ),
    "campaign.scanned": _d({"campaign_id": _campaign}, {"offer_shown": st.booleans()}),
    "pickup.confirmed": _d(
        {
            "order_id": _order,
            "staff_id": st.just("st1"),
            "items": st.integers(1, 3),
            "method": st.just("qr"),
        }
    ),
    "pickup.refused": _d(
        {
            "order_id": _order,
            "staff_id": st.just("st1"),
            "reason": st.sampled_from(["customer_absent", "damaged"]),
        }
    ),
    "consent.recorded": _d(
        {
            "purpose": st.just("marketing"),
            "granted": st.booleans(),
            "method": st.just("staff"),
            "text_version": st.just("v1"),
        }
    ),
    "email.opened": _d({"campaign_id": _campaign, "message_id": _message}),
    "email.clicked": _d(
        {"campaign_id": _campaign, "message_id": _message, "url": st.just("https://x.test/")}
    ),
    "web.visited": _d({"url": st.just("https://x.test/")}, {"campaign_id": _campaign}),
    "cart.updated": _d({"cart_id": _cart, "items": st.integers(0, 4), "value": _money}),
    "checkout.started": _d({"cart_id": _cart, "value": _money}),
    "order.placed": _d(
        {"order_id": _order, "value": _money, "items": st.integers(1, 3)},
        {"pickup_store_id": st.just("s1")},
    ),
    "review.posted": _d({"rating": st.integers(1, 5)}, {"order_id": _order}),
    "qr.opened": _d(
        {"campaign_id": _campaign, "token_kind": st.just("r"), "token_hash": st.just("ab" * 16)}
    ),
    "survey.answered": _d(
        {"context": st.sampled_from(["pickup", "visit"]), "rating": st.integers(1, 5)},
        {"reason": st.sampled_from(["waited_long", "quick"]), "order_id": _order},
    ),
}
assert set(DATA) == set(KIOSK_TYPES) | set(ONLINE_TYPES)

#: many ties (same second, same day) so that (occurred_at, event_id) ordering matters
_offsets = st.one_of(
    st.integers(0, 120 * 86400),
    st.sampled_from([0, 1, 3600, 86400, 7 * 86400, 30 * 86400]),
)


@st.composite
def one_fact(draw: st.DrawFn, event_id: str) -> Fact:
    type_ = draw(st.sampled_from(sorted(DATA)))
    data = validated(type_, draw(DATA[type_]))
    kiosk = type_ in KIOSK_TYPES
    channel = "kiosk" if kiosk else draw(st.sampled_from(["web", "app", "email"]))
    return Fact(
        event_id=event_id,
        type=type_,
        v=1,
        occurred_at=T0 + timedelta(seconds=draw(_offsets)),
        channel=channel,
        store_id=draw(st.sampled_from(["s1", "s2"])) if kiosk else None,
        device_id="s1-k1" if kiosk else None,
        session_id=draw(st.sampled_from(["a", "b", "c"])) if kiosk else None,
        campaign_id=data.get("campaign_id"),
        data=data,
    )


@st.composite
def fact_sets(draw: st.DrawFn, min_size: int = 0, max_size: int = 40) -> list[Fact]:
    ids = draw(st.lists(st.uuids().map(str), min_size=min_size, max_size=max_size, unique=True))
    return [draw(one_fact(i)) for i in ids]


attributes = st.fixed_dictionaries(
    {},
    optional={
        "lifetime_value": st.sampled_from([0, 100, 250, 999.5, 1000, 5000]),
        "segment": st.sampled_from(["loyal", "vip", "lapsed", "new"]),
        "distance_km": st.sampled_from([0.5, 10, 30, 51]),
        "email_engagement": st.sampled_from([0.0, 0.3, 0.6, 0.9]),
    },
)
