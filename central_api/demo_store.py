"""The demo's store data and click-and-collect: the demo retailer's stores, catalog and
stock (``assets/demo``), a device key for the demo store, and real orders for the
simulated kiosks to hand over.

Each step is idempotent: importing the same files again changes no row (the imports
upsert and report ``unchanged``), the key file is kept while its key still works, and
orders are placed by external id, so placing them again finds the same orders.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from .api.keys import KeyRejected, create_key, verify_key
from .demo_online import Api
from .imports import catalog, stock, stores
from .imports.runner import import_bytes

DEMO_DATA = Path(__file__).resolve().parents[1] / "assets" / "demo"
#: stores first: stock names stores and products
DEMO_FILES = (("stores.csv", stores.KIND), ("catalog.csv", catalog.KIND), ("stock.csv", stock.KIND))


def import_demo_data(engine: Engine, now: datetime, data_dir: Path = DEMO_DATA) -> dict[str, Any]:
    """Stores, catalog and stock from ``data_dir`` through the same import as
    ``central import-*``; the importers' results by file name."""
    return {
        name: import_bytes(engine, kind, (data_dir / name).read_bytes(), now, False)
        for name, kind in DEMO_FILES
    }


def ensure_demo_device_key(
    engine: Engine, store_id: str, path: Path, device_id: str | None = None
) -> str:
    """The device key in ``path`` if it still authenticates as a key of ``store_id``;
    otherwise a new one, written there readable by its owner only. Returns the key.

    (The device's config does not name a key file yet: the daemon that fetches the
    store's snapshot reads it from here once it does.)"""
    if path.exists():
        old = path.read_text(encoding="ascii").strip()
        try:
            key = verify_key(engine, old)
            if key.role == "device" and key.store_id == store_id:
                return old
        except KeyRejected:
            pass
    new = create_key(
        engine, "device", f"demo kiosk {device_id or store_id}", store_id=store_id,
        device_id=device_id,
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(new.key + "\n")
    return new.key


def place_ready_orders(
    shop: Api, store_id: str, count: int, prefix: str, skus: list[str]
) -> list[dict[str, Any]]:
    """``count`` orders for pickup in ``store_id``, placed by the shop's integration key
    and made ready (a pickup code each), as a simulator's ``--orders`` file lists them."""
    made = []
    for i in range(count):
        lines = [
            {"sku": skus[(i * 7 + j) % len(skus)], "quantity": 1 + (i + j) % 2,
             "unit_price": 9.99 + j}
            for j in range(1 + i % 3)
        ]  # fmt: skip
        body = {
            "external_id": f"DEMO-{prefix}-{i + 1:03d}", "store_id": store_id,
            "customer_id": f"C-pickup-{prefix}-{i + 1:03d}", "lines": lines,
            "customer_initials": f"{chr(65 + i % 26)}.{chr(65 + (i * 5 + 3) % 26)}.",
        }  # fmt: skip
        order = shop.call("POST", "/api/v1/orders", json=body)
        if order["state"] == "placed":
            order = shop.call("POST", f"/api/v1/orders/{order['id']}/ready")
        code = order.get("pickup_code") or {}
        made.append(
            {"order_id": order["id"], "items": order["items"], "token_hash": code.get("token_hash")}
        )
    return made


def write_orders_file(orders: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(json.dumps(orders, indent=1) + "\n", encoding="utf-8")
    return path
