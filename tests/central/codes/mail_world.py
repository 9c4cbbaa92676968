"""Shared by the direct-mail tests: a campaign running from today, central's key store,
and reading back the codes that were issued. (With a 25-character host, a recipient
code leaves room for a campaign id of six characters.)"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from central_api.domain.campaigns.model import CampaignIn
from central_api.domain.campaigns.records import Campaign, create, today_of
from central_api.domain.tokens.keystore import KeyStore
from central_api.store.code_tables import campaign_codes
from central_api.store.db import write_transaction
from edge_sync.protocol import utcnow

HOST = "shop.example-retailer.com"


def body(campaign_id: str = "mail1", days: int = 60, **over: Any) -> dict[str, Any]:
    today = today_of(utcnow())
    return {
        "id": campaign_id, "name": "Winter mailing", "channel": "direct_mail",
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=days)).isoformat(),
        "stores": ["s1", "s2"], "landing_url": "https://shop.example.com/winter",
        "offer": {"text": {"en": "20% off winter boots", "de": "20 % auf Winterstiefel"},
                  "visual": {"kind": "asset", "name": "offers/boots.png"}},
        **over,
    }  # fmt: skip


def make_campaign(engine: Engine, campaign_id: str = "mail1", **over: Any) -> Campaign:
    with write_transaction(engine) as conn:
        return create(conn, CampaignIn.model_validate(body(campaign_id, **over)), utcnow(), "t")


def key_store(tmp: Path) -> KeyStore:
    keys = KeyStore(tmp / "keys", HOST)
    keys.ensure()
    return keys


def stored_codes(engine: Engine, campaign_id: str) -> dict[str, tuple[int, str, str]]:
    """profile → (generation, token, fallback)"""
    t = campaign_codes
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.campaign_id == campaign_id)).all()
    return {r.profile_id: (r.generation, r.token, r.fallback) for r in rows}


def config_file(tmp: Path, db_url: str, broker_url: str) -> Path:
    path = tmp / "central.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[broker]\nurl = "{broker_url}"\n'
        f'[tokens]\nkey_dir = "{tmp / "keys"}"\npublic_host = "{HOST}"\n'
    )
    return path
