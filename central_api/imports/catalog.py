"""``central import-catalog FILE`` and ``POST /api/v1/catalog/import``: products by SKU.

Columns: ``sku``, ``barcode`` (EAN-8, UPC-A or EAN-13, check digit verified), ``name``,
``brand``, ``category`` (a path such as ``Garden/Tools``), ``price`` (a decimal such as
``12.99``), ``currency`` (ISO 4217) and, optionally, ``image`` (an http(s) URL or an
asset path). Products are created or updated; a product the file leaves out stays.
"""

from __future__ import annotations

from typing import Any

from ..domain.inventory import fields as f
from ..domain.inventory.catalog import upsert_products
from ..domain.inventory.records import BarcodeTaken, Product
from .csvbase import Cells, RowError, Spec
from .runner import Kind


def _product(c: Cells) -> Product | None:
    sku = c.take("sku", f.parse_sku)
    barcode = c.take("barcode", f.parse_barcode)
    name = c.take("name", f.parse_text, 200)
    brand = c.take("brand", f.parse_text, 100)
    category = c.take("category", f.parse_category)
    currency = c.take("currency", f.parse_currency)
    price = None if currency is None else c.take("price", f.parse_price, currency, c.decimal_comma)
    image = c.take("image", f.parse_image)
    if c.errors:
        return None
    return Product(sku, barcode, name, brand, category, price, currency, image)


SPEC: Spec[Product] = Spec(
    required=("sku", "barcode", "name", "brand", "category", "price", "currency"),
    optional=("image",),
    build=_product,
    key=lambda p: p.sku,
    describe=lambda p: f"SKU {p.sku}",
)


def _refused(err: Exception, records: list[Any], lines: list[int]) -> list[RowError]:
    assert isinstance(err, BarcodeTaken)
    return [
        RowError(line, "barcode", f"{p.barcode} is already SKU {err.taken[p.barcode]}'s barcode")
        for p, line in zip(records, lines, strict=True)
        if p.barcode in err.taken
    ]


def _summary(r: Any) -> str:
    return (
        f"{r.rows} products: {r.created} new, {r.updated} changed, {r.unchanged} unchanged "
        f"(catalog version {r.version})"
    )


KIND = Kind(
    name="catalog",
    spec=SPEC,
    apply=upsert_products,
    refused=(BarcodeTaken,),
    locate=_refused,
    summary=_summary,
)
