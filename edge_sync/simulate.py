"""``omnikiosk edge simulate``: synthetic kiosk traffic through the kiosk's own API.

Shoppers' sessions: a start, a few searches and product views, now and then a QR
scan that links the visit to a profile or a campaign, a staff pickup, an end. The
events go through ``EdgeClient.enqueue`` exactly as the kiosk UI's do, so each one
is committed to the outbox before the next is made.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .client import EdgeClient
from .config import DeviceConfig

QUERIES = [
    "rain jacket",
    "running shoes",
    "coffee grinder",
    "desk lamp",
    "kids backpack",
    "yoga mat",
    "headphones",
]


def _hash(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()[:32]


def session_events(rng: random.Random, staff_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """One shopper's session as (type, data) pairs, in the order a kiosk produces them."""
    yield "session.started", {"trigger": rng.choice(["touch", "touch", "qr_scan"]), "locale": "en"}
    screens = 1
    for _ in range(rng.randint(1, 3)):
        results = rng.randint(0, 40)
        yield (
            "product.searched",
            {
                "query": rng.choice(QUERIES),
                "results": results,
                "in_stock_results": rng.randint(0, results),
            },
        )
        screens += 1
        for _ in range(rng.randint(0, 2)):
            in_stock = rng.random() < 0.8
            yield (
                "product.viewed",
                {
                    "sku": f"SKU-{rng.randint(1000, 9999)}",
                    "source": "search",
                    "in_stock": in_stock,
                    "stock_qty": rng.randint(1, 30) if in_stock else 0,
                },
            )
            screens += 1
    roll = rng.random()
    if roll < 0.25:
        token_hash = _hash(rng)
        yield "qr.scanned", {"valid": True, "kind": "r", "kid": "k1", "token_hash": token_hash}
        campaign = f"cmp-{rng.randint(1, 3)}"
        yield (
            "campaign.scanned",
            {
                "campaign_id": campaign,
                "recipient_id": f"rcp-{rng.randint(1, 500)}",
                "token_hash": token_hash,
            },
        )
        yield (
            "visit.linked",
            {
                "profile_id": f"prof-{rng.randint(1, 500)}",
                "method": "qr",
                "token_kind": "r",
                "campaign_id": campaign,
                "token_hash": token_hash,
            },
        )
        # Once linked, the kiosk asks whether the visit may count for their profile.
        yield (
            "consent.recorded",
            {
                "purpose": "profiling",
                "granted": rng.random() < 0.7,
                "method": "kiosk_prompt",
                "text_version": "2026-10",
            },
        )
    elif roll < 0.35:
        yield (
            "qr.scanned",
            {"valid": False, "reason": rng.choice(["malformed", "expired", "bad_signature"])},
        )
    elif roll < 0.5:
        order = f"ord-{rng.randint(10000, 99999)}"
        if rng.random() < 0.9:
            yield (
                "pickup.confirmed",
                {
                    "order_id": order,
                    "staff_id": staff_id,
                    "items": rng.randint(1, 4),
                    "method": "qr",
                    "token_hash": _hash(rng),
                },
            )
        else:
            yield "pickup.refused", {"order_id": order, "staff_id": staff_id, "reason": "not_ready"}
    if rng.random() < 0.1:
        yield (
            "consent.recorded",
            {
                "purpose": "marketing",
                "granted": rng.random() < 0.7,
                "method": "kiosk_prompt",
                "text_version": "2026-10",
            },
        )
    yield (
        "session.ended",
        {
            "reason": rng.choice(["timeout", "done"]),
            "duration_ms": rng.randint(5_000, 300_000),
            "screens": screens,
        },
    )


def synthetic_events(
    rng: random.Random, staff_id: str = "staff-1"
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Endless (session_id, type, data) stream."""
    while True:
        session_id = f"sess-{rng.getrandbits(48):012x}"
        for type_, data in session_events(rng, staff_id):
            yield session_id, type_, data


def run_simulation(
    cfg: DeviceConfig, count: int, rate: float = 0.0, seed: int | None = None
) -> int:
    rng = random.Random(seed)
    client = EdgeClient.from_config(cfg)
    by_type: Counter[str] = Counter()
    interval = 1.0 / rate if rate > 0 else 0.0
    started = time.monotonic()
    first = last = None
    try:
        for i, (session_id, type_, data) in zip(range(count), synthetic_events(rng), strict=False):
            if interval:
                delay = started + i * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            event = client.enqueue(type_, data, session_id)
            first = first or event.seq
            last = event.seq
            by_type[type_] += 1
    finally:
        client.close()
    took = time.monotonic() - started
    mix = ", ".join(f"{t} {n}" for t, n in sorted(by_type.items()))
    print(f"enqueued {sum(by_type.values())} events (seq {first}..{last}) in {took:.2f}s: {mix}")
    return 0
