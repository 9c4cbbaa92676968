"""Small files for the inventory tests, and reading back what the tables hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from central_api.imports import catalog, stock, stores
from central_api.imports.csvbase import render
from central_api.imports.runner import Kind, import_bytes
from central_api.store.inventory_tables import inventory_versions, products
from central_api.store.inventory_tables import stock as stock_table
from central_api.store.inventory_tables import stores as stores_table

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

STORE_HEADER = ["id", "name", "address", "latitude", "longitude", "timezone", "show_exact_stock"]
STORES = [
    ["s-muc", "Munich", "Marienplatz 1, München", "48.1372", "11.5756", "Europe/Berlin", "true"],
    ["s-ber", "Berlin", "Alexanderplatz 1, Berlin", "52.5200", "13.4050", "Europe/Berlin", "no"],
    ["s-aug", "Augsburg", "Rathausplatz 1, Augsburg", "48.3705", "10.8978", "Europe/Berlin", ""],
]  # fmt: skip
CATALOG_HEADER = ["sku", "barcode", "name", "brand", "category", "price", "currency", "image"]
CATALOG = [
    ["A-1", "4006381333931", "Spade", "Fiskars", "Garden/Tools", "24.99", "EUR", "products/spade.png"],
    ["A-2", "96385074", "Hose 20 m", "Gardena", "Garden/Watering", "19.5", "EUR", ""],
    ["A-3", "036000291452", "Bulb", "Philips", "Home/Lighting", "3", "EUR", "https://img.example.com/b.jpg"],
]  # fmt: skip
STOCK_HEADER = ["store_id", "sku", "quantity", "low_threshold"]
STOCK = [
    ["s-muc", "A-1", "10", "3"],
    ["s-muc", "A-2", "3", "3"],
    ["s-ber", "A-1", "0", "2"],
    ["s-ber", "A-3", "7", "0"],
]


def csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> bytes:
    return render(header, rows, delimiter).encode("utf-8")


def run(engine: Engine, kind: Kind, raw: bytes, at: int = 0, dry_run: bool = False) -> Any:
    """The import at ``T0 + at`` minutes."""
    return import_bytes(engine, kind, raw, T0 + timedelta(minutes=at), dry_run)


def seed(engine: Engine) -> None:
    run(engine, stores.KIND, csv(STORE_HEADER, STORES))
    run(engine, catalog.KIND, csv(CATALOG_HEADER, CATALOG))
    run(engine, stock.KIND, csv(STOCK_HEADER, STOCK))


def table(engine: Engine, which: str) -> list[dict[str, Any]]:
    t = {"stores": stores_table, "products": products, "stock": stock_table,
         "versions": inventory_versions}[which]  # fmt: skip
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(t))]
    return sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    return {w: table(engine, w) for w in ("stores", "products", "stock", "versions")}
