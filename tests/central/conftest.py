"""Fixtures for central's tests; ``db_url`` (SQLite and PostgreSQL) is in tests/support."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from central_api.ingest import Ingestor
from central_api.store import make_engine
from tests.support.migrated import copy_sqlite_template, sqlite_template


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This process's migrated SQLite file, copied for each test (tests/support/migrated)."""
    return sqlite_template(tmp_path_factory.mktemp("migrated-sqlite"))


@pytest.fixture
def engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated central database, on each backend: a copy of a real ``migrate`` run
    (on PostgreSQL ``db_url`` is already a migrated schema; see tests/support/migrated)."""
    if db_url.startswith("sqlite"):
        copy_sqlite_template(request.getfixturevalue("_migrated_sqlite"), db_url)
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(engine)
