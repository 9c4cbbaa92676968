"""Fixtures for the click-and-collect tests: an API on a real database with a real
signing key, and keys of each role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.app import create_app
from central_api.domain.orders.records import CodeIssuer
from central_api.domain.tokens.keystore import KeyStore
from tests.central.api.conftest import keys  # noqa: F401 (fixture)

HOST = "shop.example.com"


@pytest.fixture
def key_store(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys", HOST)
    store.ensure()
    return store


@pytest.fixture
def issuer(key_store: KeyStore) -> CodeIssuer:
    return CodeIssuer(key_store.signer, no_show_days=7)


@pytest.fixture
def client(engine: Engine, issuer: CodeIssuer) -> Iterator[TestClient]:
    with TestClient(create_app(engine, order_codes=issuer), raise_server_exceptions=True) as c:
        yield c
