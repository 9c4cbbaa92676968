"""The checked records the importers hand to the writers (NamedTuples: cheap to make by
the hundred thousand and compared field by field with what is stored)."""

from __future__ import annotations

from typing import NamedTuple


class Product(NamedTuple):
    sku: str
    barcode: str
    name: str
    brand: str
    category: str
    price_minor: int
    currency: str
    image: str


class Store(NamedTuple):
    id: str
    name: str
    address: str
    latitude: float
    longitude: float
    timezone: str
    show_exact_stock: bool


class StockLevel(NamedTuple):
    store_id: str
    sku: str
    quantity: int
    low_threshold: int


class UnknownRefs(Exception):
    """Stock names stores or SKUs central does not have; nothing was written."""

    def __init__(self, stores: set[str], skus: set[str]) -> None:
        super().__init__(f"{len(stores)} unknown stores, {len(skus)} unknown SKUs")
        self.stores = stores
        self.skus = skus


class BarcodeTaken(Exception):
    """Barcodes another SKU already has (barcode → that SKU); nothing was written."""

    def __init__(self, taken: dict[str, str]) -> None:
        super().__init__(f"{len(taken)} barcodes belong to other SKUs")
        self.taken = taken
