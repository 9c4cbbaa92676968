"""Fixtures for the HTTP API tests: an app on a real migrated database (SQLite and
PostgreSQL, through ``engine``) and one key per role, plus keys that must not work.
The device key is bound to store ``DEVICE_STORE``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.api.keys import create_key, revoke_key
from central_api.app import create_app

DEVICE_STORE = "s001"


@dataclass(frozen=True)
class Keys:
    admin: str
    marketer: str
    integration: str
    #: a device key of store DEVICE_STORE (device s001-k1)
    device: str
    #: an admin key, revoked
    revoked: str
    #: well-formed, but never issued
    unknown: str
    #: the admin key's id with another secret
    wrong_secret: str

    def for_role(self, role: str) -> str:
        return {
            "admin": self.admin,
            "marketer": self.marketer,
            "integration": self.integration,
            "device": self.device,
        }[role]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    # raise_server_exceptions: an exception that escaped the app fails the test
    with TestClient(create_app(engine), raise_server_exceptions=True) as c:
        yield c


@pytest.fixture
def keys(engine: Engine) -> Keys:
    admin = create_key(engine, "admin", "test admin")
    revoked = create_key(engine, "admin", "revoked admin")
    revoke_key(engine, revoked.info.key_id)
    return Keys(
        admin=admin.key,
        marketer=create_key(engine, "marketer", "test marketer").key,
        integration=create_key(engine, "integration", "test integration").key,
        device=create_key(
            engine, "device", "test kiosk", store_id=DEVICE_STORE, device_id="s001-k1"
        ).key,
        revoked=revoked.key,
        unknown="omk_0123456789abcdef_" + "A" * 43,
        wrong_secret=f"omk_{admin.info.key_id}_" + "B" * 43,
    )
