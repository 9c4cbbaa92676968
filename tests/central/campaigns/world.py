"""Building campaign histories through the real ingest paths: kiosk batches through the
``Ingestor`` and online events through ``POST /api/v1/events``."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from central_api.ingest import Ingestor
from central_api.store.profile_tables import profile_aliases
from edge_sync.protocol import format_ts
from tests.central.api.conftest import Keys
from tests.central.api.test_online_events import online, post
from tests.central.helpers import batch_msg, event

CONSENT = {"purpose": "profiling", "granted": True, "method": "web_form", "text_version": "v1"}
_seq = itertools.count(1)
_batch = itertools.count(1)
_SECOND = timedelta(seconds=1)


def ok(r: Any) -> Any:
    assert r.status_code == 200 and not r.json()["rejected"], r.text
    return r


class World:
    """Customers known online (a customer id each), visiting kiosks and ordering."""

    def __init__(self, engine: Engine, ingestor: Ingestor, client: TestClient, keys: Keys) -> None:
        self.engine, self.ingestor, self.client, self.keys = engine, ingestor, client, keys
        self.pids: dict[str, str] = {}

    def customer(self, name: str, at: datetime, consent: bool = True) -> str:
        """A customer first seen online (the shop's id ``name``), with their profiling
        consent decision; returns the profile id their QR codes carry."""
        ok(post(self.client, self.keys.integration,
                [online("consent.recorded", {**CONSENT, "granted": consent}, customer=name,
                        email=None, occurred_at=format_ts(at))]))  # fmt: skip
        with self.engine.connect() as c:
            pid = c.execute(
                select(profile_aliases.c.profile_id).where(
                    profile_aliases.c.kind == "customer_id", profile_aliases.c.value == name
                )
            ).scalar_one()
        self.pids[name] = pid
        return pid

    def visit(self, name: str, store: str, at: datetime, steps: list[tuple[str, dict]]) -> None:
        """One kiosk session at ``store`` starting at ``at``: ``steps`` a second apart,
        then the shopper's QR check-in."""
        device = f"{store}-k1"
        session = f"sess-{next(_batch)}"
        plan = [*steps, ("visit.linked", {"profile_id": self.pids[name], "method": "qr"})]
        evs = [
            event(next(_seq), t, device=device, store=store, session_id=session, data=d,
                  occurred_at=format_ts(at.replace(microsecond=0) + i * _SECOND))
            for i, (t, d) in enumerate(plan)
        ]  # fmt: skip
        self.ingestor.process([batch_msg(evs, f"b{next(_batch)}", device=device, store=store)])

    def scan(self, name: str, campaign: str, store: str, at: datetime) -> None:
        self.visit(name, store, at, [("campaign.scanned", {"campaign_id": campaign})])

    def order(self, name: str, order_id: str, at: datetime, **data: Any) -> None:
        ok(post(self.client, self.keys.integration,
                [online("order.placed", {"order_id": order_id, "value": 50.0, "items": 1, **data},
                        customer=name, email=None, occurred_at=format_ts(at))]))  # fmt: skip

    def online(self, name: str, type_: str, data: dict, at: datetime, channel: str = "web") -> None:
        ok(post(self.client, self.keys.integration,
                [online(type_, data, customer=name, email=None, channel=channel,
                        occurred_at=format_ts(at))]))  # fmt: skip


def pickup(order_id: str) -> tuple[str, dict]:
    return ("pickup.confirmed", {"order_id": order_id, "staff_id": "st-1", "items": 1,
                                 "method": "qr"})  # fmt: skip


def campaign_body(**over: Any) -> dict[str, Any]:
    """A valid ``POST /api/v1/campaigns`` body; ``over`` replaces top-level fields."""
    return {
        "name": "Winter boots",
        "channel": "direct_mail",
        "starts_on": "2026-12-01",
        "ends_on": "2099-12-31",
        "stores": ["s1", "s2"],
        "landing_url": "https://shop.example.com/winter?utm_source=flyer",
        "offer": {
            "text": {"en": "20% off winter boots", "de": "20 % auf Winterstiefel"},
            "visual": {"kind": "asset", "name": "offers/winter-boots.png"},
            "valid_from": "2026-12-01",
            "valid_until": "2026-12-24",
        },
        **over,
    }
