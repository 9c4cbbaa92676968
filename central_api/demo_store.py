"""The demo's store data and click-and-collect: the demo retailer's stores, catalog and
stock (``assets/demo``), a device key for the demo store, its staff member's PIN, real
orders for the simulated kiosks to hand over, and a stock change for a delta.

Each step is idempotent: importing the same files again changes no row (the imports
upsert and report ``unchanged``), the key file is kept while its key still works, and
orders are placed by external id, so placing them again finds the same orders.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from edge_sync.protocol.pins import BadPin, check_pin

from .api.keys import KeyRejected, create_key, verify_key
from .demo_online import Api, DemoApiError
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
    otherwise a new one, written there readable by its owner only (the device config's
    ``[central] key_file``). Returns the key."""
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
    write_private(path, new.key)
    return new.key


def write_private(path: Path, text: str) -> None:
    """``text`` and a newline in ``path``, readable by its owner only (a key, a PIN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text + "\n")


def demo_pin() -> str:
    """A fresh 6-digit staff PIN that ``check_pin`` accepts (not a run, not one digit)."""
    while True:
        pin = f"{secrets.randbelow(10**6):06d}"
        try:
            return check_pin(pin)
        except BadPin:
            continue


def set_demo_staff(admin: Api, store_id: str, staff_id: str, name: str, pin: str) -> None:
    """The store's staff member, as ``central staff set`` makes one: central keeps only
    the PIN's hash and sends it to the store's kiosks with the store's data."""
    admin.call(
        "PUT", f"/api/v1/stores/{store_id}/staff/{staff_id}", json={"name": name, "pin": pin}
    )


def snapshot_version(api: Api, store_id: str, staff_id: str, order_ids: list[str]) -> int | None:
    """The version of central's latest snapshot of ``store_id`` once it lists the staff
    member and every one of ``order_ids`` as due for pickup; None until then."""
    try:
        snap = api.call("GET", f"/api/v1/stores/{store_id}/snapshot")
    except DemoApiError:  # no snapshot yet: central builds it within seconds
        return None
    staff = {s["staff_id"] for s in snap["staff"]}
    due = {p["order_id"] for p in snap["pickups"]}
    return snap["version"] if staff_id in staff and due >= set(order_ids) else None


def restock(
    shop: Api, store_id: str, sku: str, quantity: int, data_dir: Path = DEMO_DATA
) -> tuple[int, int]:
    """A delivery: the store's stock file again with ``sku`` at ``quantity``, posted as the
    shop's stock import (which replaces the store's stock). Returns (before, after)."""
    rows = list(csv.DictReader(io.StringIO((data_dir / "stock.csv").read_text(encoding="utf-8"))))
    mine = [r for r in rows if r["store_id"] == store_id]
    before = next(int(r["quantity"]) for r in mine if r["sku"] == sku)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in mine:
        writer.writerow({**r, "quantity": quantity} if r["sku"] == sku else r)
    shop.call("POST", "/api/v1/stock/import", data=out.getvalue().encode("utf-8"))
    return before, quantity


def product_names(data_dir: Path = DEMO_DATA) -> dict[str, str]:
    """Each demo product's name by SKU (the shop's orders carry them, as a shop's do)."""
    with (data_dir / "catalog.csv").open(encoding="utf-8", newline="") as f:
        return {r["sku"]: r["name"] for r in csv.DictReader(f)}


def product_name(sku: str, data_dir: Path = DEMO_DATA) -> str:
    return product_names(data_dir)[sku]


def place_ready_orders(
    shop: Api, store_id: str, count: int, prefix: str, skus: list[str], first: int = 0
) -> list[dict[str, Any]]:
    """``count`` orders for pickup in ``store_id`` (numbered from ``first``), placed by the
    shop's integration key and made ready (a pickup code each), as a simulator's
    ``--orders`` file lists them: ``code`` is the pickup code's text, what the customer's
    QR code holds and the kiosk scans."""
    made = []
    names = product_names()
    for i in range(first, first + count):
        lines = [
            {"sku": sku, "name": names[sku], "quantity": 1 + (i + j) % 2, "unit_price": 9.99 + j}
            for j in range(1 + i % 3)
            for sku in [skus[(i * 7 + j) % len(skus)]]
        ]
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
            {"order_id": order["id"], "items": order["items"],
             "token_hash": code.get("token_hash"), "code": code.get("url")}
        )  # fmt: skip
    return made


def write_orders_file(orders: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(json.dumps(orders, indent=1) + "\n", encoding="utf-8")
    return path
