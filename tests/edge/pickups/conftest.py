"""Fixtures for the pickup tests: a migrated edge.db with keys, staff and a desk."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge_sync import EdgeClient, Outbox
from edge_sync.db import open_edge_db
from edge_sync.pickups import PickupDesk, StaffSession, StaffUnlock

from .helpers import NOW, STAFF, add_staff, store_keys


@pytest.fixture
def conn(outbox: Outbox, db_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection of the daemon's kind to the migrated edge.db, keys and staff in."""
    store_keys(db_path)
    add_staff(db_path)
    c, _ = open_edge_db(db_path)
    yield c
    c.close()


@pytest.fixture
def desk(conn: sqlite3.Connection, outbox: Outbox) -> Iterator[PickupDesk]:
    d = PickupDesk(EdgeClient(outbox), clock=lambda: NOW)
    yield d
    d.close()


@pytest.fixture
def unlock(db_path: Path, conn: sqlite3.Connection) -> Iterator[StaffUnlock]:
    u = StaffUnlock(db_path)
    yield u
    u.close()


@pytest.fixture
def session(unlock: StaffUnlock) -> Callable[[str], StaffSession]:
    def _session(staff_id: str = "anna") -> StaffSession:
        return unlock.unlock(STAFF[staff_id][1])

    return _session
