"""A kiosk for the controller tests: a device config in tmp_path, its EdgeClient on a
real edge.db holding a store snapshot (products, stock here and nearby, staff with
PINs), central's keys and a ready pickup order; and a clock the test moves."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge_sync import EdgeClient
from edge_sync.config import load_device_config
from edge_sync.db import open_edge_db
from edge_sync.inventory.load import load_snapshot
from edge_sync.protocol.ids import format_ts
from edge_sync.protocol.pins import hash_pin
from edge_sync.protocol.store_data import parse_snapshot
from edge_sync.protocol.tokens import Token
from kiosk.controllers.clock import ManualClock
from kiosk.controllers.kiosk import Controllers
from kiosk.settings import KioskSettings
from tests.edge.inventory.feed import ean13, store_obj
from tests.edge.pickups.helpers import NOW, STAFF, ready_order, store_keys

STORE, DEVICE = "s042", "s042-k1"
ORDER = "o-1001"
#: stock counted 5 minutes before the tests' "now"
STOCK_AS_OF = NOW - timedelta(minutes=5)

PRODUCTS = [
    ["RJ-01", ean13("400000000011"), "Rain Jacket Pro", "Nordkap", "Outdoor/Jackets", 8900],
    ["RJ-02", ean13("400000000012"), "Rain Jacket Kids", "Nordkap", "Outdoor/Jackets", 4500],
    ["RP-01", ean13("400000000013"), "Rain Poncho", "Trekka", "Outdoor/Rain", 1299],
    ["WS-01", ean13("400000000014"), "Wool Socks", "Trekka", "Outdoor/Socks", 1499],
]


def snapshot(exact: bool = False, as_of: str | None = None) -> bytes:
    stock_as_of = as_of or format_ts(STOCK_AS_OF)
    return json.dumps({
        "format": 1, "store_id": STORE, "version": 7, "built_at": stock_as_of,
        "store": store_obj(exact=exact, stock_as_of=stock_as_of),
        "products": [[*p, "EUR", f"img/{p[0]}.jpg"] for p in PRODUCTS],
        # RJ-01 plenty, RJ-02 low (2 ≤ 3), RP-01 out; WS-01 not stocked here at all
        "stock": [["RJ-01", 12, 3], ["RJ-02", 2, 3], ["RP-01", 0, 2]],
        "nearby_stores": [
            {**store_obj("s044", exact=False, stock_as_of=stock_as_of), "distance_km": 3.4},
            {**store_obj("s043", exact=True, stock_as_of=stock_as_of), "distance_km": 1.2},
        ],
        "nearby_stock": [["s044", "RP-01", 2, 3], ["s043", "RP-01", 9, 2]],
        "staff": [{"staff_id": sid, "name": name, "pin_hash": hash_pin(pin, 10)}
                  for sid, (name, pin) in STAFF.items()],
        "pickups": [],
    }).encode()  # fmt: skip


@dataclass
class Kiosk:
    config: Path
    client: EdgeClient
    clock: ManualClock
    settings: KioskSettings
    c: Controllers
    order_code: Token
    db_path: Path

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        rows = self.client.outbox.fetch(0, 1_000_000, 2**40)
        out = [json.loads(r.payload) for r in rows]
        return [e for e in out if type_ is None or e["type"] == type_]

    def advance(self, seconds: float, step: float = 0.25) -> None:
        """Move time on as the app would, ticking every ``step`` seconds."""
        left = seconds
        while left > 1e-9:
            d = min(step, left)
            self.clock.advance(d)
            self.c.tick()
            left -= d


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "device.toml"
    path.write_text(
        f'[device]\nid = "{DEVICE}"\nstore_id = "{STORE}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[clock]\nsource = "assume_synced"\n{extra}'
    )
    return path


def make_kiosk(tmp_path: Path, *, exact: bool = False, **settings: Any) -> Kiosk:
    config = write_config(tmp_path)
    cfg = load_device_config(config)
    cfg.db_path.parent.mkdir(parents=True, exist_ok=True)
    client = EdgeClient.from_config(cfg)
    conn, _ = open_edge_db(cfg.db_path)
    try:
        load_snapshot(conn, parse_snapshot(snapshot(exact), STORE))
        token = ready_order(conn, ORDER)
    finally:
        conn.close()
    store_keys(cfg.db_path)
    clock = ManualClock(NOW)
    ks = KioskSettings(**settings)
    return Kiosk(
        config,
        client,
        clock,
        ks,
        Controllers(client, ks, clock, tz=UTC, config_version=3),
        token,
        cfg.db_path,
    )


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    k = make_kiosk(tmp_path)
    yield k
    k.c.close()
    k.client.close()


@pytest.fixture
def exact_kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    k = make_kiosk(tmp_path, exact=True)
    yield k
    k.c.close()
    k.client.close()


def db_conn(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)
