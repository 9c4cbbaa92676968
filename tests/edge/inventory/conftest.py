"""Fixtures for the store-data tests: a feed, its snapshot server, a device's sync."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_sync.config import CentralSettings
from edge_sync.inventory.sync import InventorySync

from .feed import KEY, STORE, Central, SnapshotServer


@pytest.fixture
def central() -> Central:
    return Central(seed=1)


@pytest.fixture
def server(central: Central) -> Iterator[SnapshotServer]:
    s = SnapshotServer(central)
    yield s
    s.close()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    p = tmp_path / "central-key"
    p.write_text(KEY + "\n")
    return p


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "edge.db"


@pytest.fixture
def make_sync(
    db_path: Path, server: SnapshotServer, key_file: Path
) -> Iterator[Callable[..., InventorySync]]:
    made: list[InventorySync] = []

    def _make(**kw: Any) -> InventorySync:
        settings = {"url": server.url, "key_file": str(key_file), "retry_min_s": 0.05,
                    "retry_max_s": 0.2, "timeout_s": 5.0, **kw.pop("central", {})}  # fmt: skip
        s = InventorySync(STORE, kw.pop("db", db_path), CentralSettings(**settings), **kw)
        made.append(s)
        return s

    yield _make
    for s in made:
        s.stop()
