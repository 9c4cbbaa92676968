"""A retailer's central with real store data, for tests that run the whole spine
(``tests.faults.harness.Spine``): the demo retailer's stores, catalog and stock, one
staff member with a PIN in the spine's store, API keys, device configs that fetch the
store's snapshot from central with a store-bound device key, and the devices' sync
daemons running. Shared by the store-handover fault tests and the kiosk app's offline
test."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from central_api.api.keys import create_key
from central_api.demo_store import import_demo_data
from central_api.store import make_engine, migrate
from edge_sync.client import EdgeClient
from edge_sync.config import load_device_config
from edge_sync.protocol import utcnow
from tests.support.waiting import wait_for

if TYPE_CHECKING:
    from tests.faults.harness import Spine

PIN = "480215"
STAFF_ID, STAFF_NAME = "anna", "Anna Berg"
#: two products of the demo catalog, stocked in the demo's s001 (assets/demo)
LINES = [
    {"sku": "GW-00002", "name": "Fiskars Spade", "quantity": 1, "unit_price": 35.99},
    {"sku": "GW-00003", "quantity": 2, "unit_price": 4.5},
]


def device_rows(db: Path, sql: str, *args: object) -> list[tuple]:
    """Rows of ``sql`` on a device's edge.db; none while it is not made or migrated yet."""
    if not db.exists():
        return []
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        c.close()


def reported_inventory(client: EdgeClient, version: int, timeout: float = 30) -> dict:
    """The store-data status the device's daemon reports, once it reports ``version``:
    the daemon writes that report just after the data's own transaction, so a test that
    saw the version in edge.db may still read the report before it."""

    def reported() -> dict | None:
        status = client.sync_status()["inventory"] or {}
        return status if status.get("version") == version else None

    return wait_for(reported, timeout=timeout, message=f"the daemon reporting version {version}")


class World:
    """Central with the demo retailer's stores, catalog and stock, one staff member in
    the spine's store, and devices whose configs fetch that store's data; central and
    the devices' daemons are running once it is made."""

    def __init__(self, s: Spine, devices: list[str], device_extra: str = "") -> None:
        self.s = s
        engine = make_engine(s.db_url)
        migrate(engine)
        import_demo_data(engine, utcnow())
        self.admin = create_key(engine, "admin", "test admin").key
        self.integration = create_key(engine, "integration", "test shop").key
        self.configs: dict[str, Path] = {}
        for device in devices:
            key = create_key(engine, "device", device, store_id=s.store, device_id=device).key
            key_file = s.tmp / f"{device}.key"
            key_file.write_text(key + "\n")
            cfg = s.tmp / f"{device}.toml"
            cfg.write_text(s.device_toml(device, key_file) + device_extra)
            self.configs[device] = cfg
        engine.dispose()
        with s.central_cfg.open("a") as f:
            f.write("[inventory]\nfeed_interval_s = 0.2\n[orders]\npush_interval_s = 0.2\n")
        s.start_central()
        self.base = f"http://127.0.0.1:{s.api_port}"
        wait_for(lambda: requests.get(self.base + "/healthz", timeout=5).ok, timeout=60,
                 message="central's API")  # fmt: skip
        r = self.call("PUT", f"/api/v1/stores/{s.store}/staff/{STAFF_ID}", self.admin,
                      json={"name": STAFF_NAME, "pin": PIN})  # fmt: skip
        assert r.status_code in (200, 201), r.text
        self.edges = {
            d: s.spawn(["edge", "--config", str(cfg)], name=d) for d, cfg in self.configs.items()
        }

    def call(self, method: str, path: str, key: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def ready_order(self, external_id: str) -> dict:
        body = {"external_id": external_id, "store_id": self.s.store, "customer_id": "C-7",
                "customer_initials": "J.D.", "lines": LINES}  # fmt: skip
        r = self.call("POST", "/api/v1/orders", self.integration, json=body)
        assert r.status_code == 201, r.text
        r = self.call("POST", f"/api/v1/orders/{r.json()['id']}/ready", self.integration)
        assert r.status_code == 200, r.text
        return r.json()

    def client(self, device: str) -> EdgeClient:
        return EdgeClient.from_config(load_device_config(self.configs[device]))

    def edge_db(self, device: str) -> Path:
        return self.s.tmp / device / "edge.db"

    def wait_due(self, device: str, order_id: str) -> None:
        """Until the device has the store's staff list and the order due for pickup."""
        db = self.edge_db(device)

        def due() -> bool:
            staff = device_rows(db, "SELECT count(*) FROM staff")
            order = device_rows(db, "SELECT state FROM pickup_orders WHERE order_id = ?", order_id)
            return staff == [(1,)] and order == [("ready_for_pickup",)]

        wait_for(due, timeout=60, message=f"{device}: the staff list and order {order_id}")

    def order(self, order_id: str) -> dict:
        return self.call("GET", f"/api/v1/orders/{order_id}", self.integration).json()
