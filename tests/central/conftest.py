"""Fixtures for central's tests; ``db_url`` (SQLite and PostgreSQL) is in tests/support."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from central_api.ingest import Ingestor
from central_api.store import make_engine, migrate


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated central database, on each backend."""
    eng = make_engine(db_url)
    migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(engine)
