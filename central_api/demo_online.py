"""The demo's online traffic: what a retailer's email service and shop send central over
``POST /api/v1/events``, for customers who also came to a kiosk and for some who did not.

Customers differ on purpose, so that scores, grades and stages spread: a few buy a lot,
some buy once, some read every email and never buy, most only browse.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests

from edge_sync.protocol import format_ts

#: persona → share of customers
PERSONAS = {"big_spender": 0.15, "buyer": 0.30, "reader": 0.25, "browser": 0.30}
CAMPAIGNS = ("cmp-1", "cmp-2", "cmp-3")  # the kiosks' simulated campaigns too


class DemoApiError(RuntimeError):
    pass


@dataclass
class Api:
    """Central's HTTP API with one key."""

    base: str
    key: str

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = requests.request(
            method,
            self.base + path,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=60,
            **kw,
        )
        if r.status_code >= 300:
            raise DemoApiError(f"{method} {path}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json() if r.content else None

    def all_pages(self, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            q = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
            page = self.call("GET", path, params=q)
            items += page["items"]
            cursor = page.get("next")
            if not cursor:
                return items


@dataclass
class OnlineTraffic:
    customers: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    duplicates: int = 0
    requests: int = 0
    #: kiosk profile → the online customer's profile merged into it
    merged: dict[str, str] = field(default_factory=dict)


def _email(customer: str) -> str:
    return hashlib.sha256(f"{customer}@example.com".encode()).hexdigest()


def customer_events(
    rng: random.Random, customer: str, persona: str, now: datetime
) -> list[dict[str, Any]]:
    """One customer's last two or three weeks online, oldest first."""
    at = now - timedelta(days=rng.uniform(12, 20))
    out: list[dict[str, Any]] = []

    def add(type_: str, channel: str, data: dict[str, Any], hours: float = 6.0) -> None:
        nonlocal at
        at += timedelta(hours=rng.uniform(0.2, hours))
        out.append(
            {"id": str(uuid.uuid4()), "type": type_, "v": 1, "occurred_at": format_ts(min(at, now)),
             "channel": channel, "source": "esp" if channel == "email" else "shop",
             "customer_id": customer, "email_sha256": _email(customer), "data": data}
        )  # fmt: skip

    campaign = rng.choice(CAMPAIGNS)
    if persona != "browser" or rng.random() < 0.8:
        consent = {"purpose": "profiling", "granted": True, "method": "web_form",
                   "text_version": "2026-10"}  # fmt: skip
        add("consent.recorded", "web", consent, 1)
    opens, clicks, visits, orders = {
        "big_spender": (8, 5, 6, 3),
        "buyer": (3, rng.randint(1, 2), 3, 1 + (rng.random() < 0.3)),
        "reader": (6, rng.randint(2, 3), 2, 0),
        "browser": (rng.randint(0, 1), 0, rng.randint(1, 3), 0),
    }[persona]
    for m in range(opens):
        message = f"msg-{campaign}-{m}"
        add("email.opened", "email", {"campaign_id": campaign, "message_id": message})
        if m < clicks:
            url = f"https://shop.example.com/c/{campaign}?m={m}"
            add("email.clicked", "email", {"campaign_id": campaign, "message_id": message,
                                           "url": url}, 0.5)  # fmt: skip
    for v in range(visits):
        page = {"url": f"https://shop.example.com/p/{rng.randint(100, 999)}"}
        if v == 0 and clicks:
            page["campaign_id"] = campaign
        add("web.visited", "web", page, 12)
    for o in range(orders):
        cart = f"cart-{customer}-{o}"
        value = round(
            rng.uniform(250, 700) if persona == "big_spender" else rng.uniform(40, 260), 2
        )
        items = rng.randint(1, 5)
        add("cart.updated", "web", {"cart_id": cart, "items": items, "value": value}, 24)
        add("checkout.started", "web", {"cart_id": cart, "value": value}, 0.3)
        order = {"order_id": f"ord-{customer}-{o}", "value": value, "items": items,
                 "cart_id": cart, **({"pickup_store_id": "s001"} if o == 0 else {})}  # fmt: skip
        add("order.placed", "web", order, 0.2)
    if persona == "browser" and rng.random() < 0.4:  # a checkout left half-way
        cart = f"cart-{customer}-x"
        value = round(rng.uniform(20, 120), 2)
        add("cart.updated", "web", {"cart_id": cart, "items": 1, "value": value})
        add("checkout.started", "web", {"cart_id": cart, "value": value}, 0.3)
    if orders and rng.random() < 0.6:
        # most reviews are happy; an unhappy one costs points (and, by the rules, grade)
        review = {"rating": rng.choice([2, 4, 5, 5, 5]), "order_id": f"ord-{customer}-0"}
        add("review.posted", "web", review, 48)
    return out


def _persona(rng: random.Random) -> str:
    return rng.choices(list(PERSONAS), weights=list(PERSONAS.values()))[0]


def send_online_traffic(
    integration: Api,
    admin: Api,
    kiosk_profiles: list[str],
    online_only: int,
    now: datetime,
    seed: int = 7,
) -> OnlineTraffic:
    """Post every customer's events (one request each, as a shop connector batches
    them), resend one request as a flaky connector would, then merge each kiosk profile
    with the online customer it belongs to: central never merges two identified
    profiles by itself."""
    rng = random.Random(seed)
    traffic = OnlineTraffic()
    customers = [(f"c-{pid}", pid) for pid in kiosk_profiles]
    customers += [(f"c-web-{n:03d}", None) for n in range(1, online_only + 1)]
    first: list[dict[str, Any]] = []
    for customer, kiosk_pid in customers:
        persona = _persona(rng)
        traffic.customers[persona] += 1
        evs = customer_events(rng, customer, persona, now)
        answer = integration.call("POST", "/api/v1/events", json={"events": evs})
        if answer["rejected"]:
            raise DemoApiError(f"central rejected demo events: {answer['rejected'][:3]}")
        traffic.requests += 1
        traffic.sent += len(evs)
        traffic.events.update(e["type"] for e in evs)
        first = first or evs
        if kiosk_pid is not None:
            online_pid = integration_profile(admin, customer)
            out = admin.call(
                "POST",
                "/api/v1/profiles/merge",
                json={"profile_ids": [kiosk_pid, online_pid],
                      "reason": f"kiosk QR code issued to shop customer {customer}"},
            )  # fmt: skip
            traffic.merged[out["survivor"]] = out["merged"]
    again = integration.call("POST", "/api/v1/events", json={"events": first})
    traffic.requests += 1
    traffic.sent += len(first)
    traffic.duplicates += len(again["duplicates"])
    return traffic


def integration_profile(api: Api, customer: str) -> str:
    """The profile central made for an online customer (found by its alias)."""
    found = api.call("GET", "/api/v1/profiles", params={"q": customer})["items"]
    if len(found) != 1:
        raise DemoApiError(f"expected one profile for customer {customer}, found {len(found)}")
    return found[0]["id"]
