"""A central app with QR signing keys (a key directory per test), on each backend, and
one API key per role; helpers to make campaigns and profiles through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from central_api.app import create_app
from central_api.domain.tokens.keystore import KeyStore
from central_api.store.profile_tables import profile_aliases
from edge_sync.protocol import format_ts, utcnow
from edge_sync.protocol.tokens import Signer, Token
from tests.central.api.conftest import Keys, bearer, client, keys  # noqa: F401
from tests.central.api.test_online_events import online, post
from tests.central.campaigns.world import CONSENT, campaign_body

HOST = "shop.example.com"


@pytest.fixture
def code_keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys", HOST)
    store.ensure()
    return store


@pytest.fixture
def qclient(engine: Engine, code_keys: KeyStore) -> Iterator[TestClient]:
    with TestClient(create_app(engine, code_keys=code_keys), raise_server_exceptions=True) as c:
        yield c


def today() -> date:
    return utcnow().date()


def make_campaign(tc: TestClient, k: Keys, campaign_id: str, **over: Any) -> dict[str, Any]:
    dates = {"starts_on": (today() - timedelta(days=1)).isoformat(),
             "ends_on": (today() + timedelta(days=30)).isoformat()}  # fmt: skip
    body = campaign_body(id=campaign_id, **{**dates, **over})
    body["offer"].pop("valid_from")
    body["offer"].pop("valid_until")
    r = tc.post("/api/v1/campaigns", json=body, headers=bearer(k.marketer))
    assert r.status_code == 201, r.text
    return r.json()


def make_customer(tc: TestClient, k: Keys, engine: Engine, name: str, consent: bool = True) -> str:
    """A customer known online (with their profiling consent decision); their profile id."""
    doc = online("consent.recorded", {**CONSENT, "granted": consent}, customer=name, email=None,
                 occurred_at=format_ts(utcnow() - timedelta(hours=1)))  # fmt: skip
    r = post(tc, k.integration, [doc])
    assert r.status_code == 200 and r.json()["accepted"], r.text
    with engine.connect() as c:
        return c.execute(
            select(profile_aliases.c.profile_id).where(
                profile_aliases.c.kind == "customer_id", profile_aliases.c.value == name
            )
        ).scalar_one()


def sign(signer: Signer, kind: str, subject: str, *, days: tuple[int, int] = (-1, 30),
         **kw: Any) -> Token:  # fmt: skip
    """A code valid from ``days[0]`` to ``days[1]`` days from today."""
    return signer.sign(kind, subject, not_before=today() + timedelta(days=days[0]),
                       not_after=today() + timedelta(days=days[1]), **kw)  # fmt: skip


def path_of(signer: Signer, token: Token) -> str:
    """The path of the printed URL, as a phone asks for it (upper case, ``/Q/``)."""
    url = signer.url(token)
    return url[url.index("/Q/") :]
