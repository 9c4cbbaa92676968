from __future__ import annotations

import pytest

from tests.faults.harness import Spine


@pytest.fixture
def spine(tmp_path, broker, spawn) -> Spine:
    """Broker running; central and edge not started yet (SQLite central)."""
    return Spine(tmp_path, broker, f"sqlite:///{tmp_path / 'central.db'}", spawn)


@pytest.fixture
def spine_any_db(tmp_path, broker, spawn, db_url) -> Spine:
    """The same spine, once with a SQLite central and once with PostgreSQL."""
    return Spine(tmp_path, broker, db_url, spawn)
