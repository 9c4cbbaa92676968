"""``central import-stock FILE`` and ``POST /api/v1/stock/import``: stock per store.

Columns: ``store_id``, ``sku``, ``quantity`` and ``low_threshold`` (whole numbers, 0 or
more). The file replaces the whole stock of each store it names: a SKU of such a store
that the file leaves out is no longer stocked there (see ``domain.inventory.stock``);
other stores keep theirs. Stores and SKUs must exist (import them first).
"""

from __future__ import annotations

from typing import Any

from ..domain.inventory import fields as f
from ..domain.inventory.records import StockLevel, UnknownRefs
from ..domain.inventory.stock import replace_stock
from .csvbase import Cells, RowError, Spec
from .runner import Kind


def _level(c: Cells) -> StockLevel | None:
    s = StockLevel(
        store_id=c.take("store_id", f.parse_store_id),
        sku=c.take("sku", f.parse_sku),
        quantity=c.take("quantity", f.parse_count),
        low_threshold=c.take("low_threshold", f.parse_count),
    )
    return None if c.errors else s


SPEC: Spec[StockLevel] = Spec(
    required=("store_id", "sku", "quantity", "low_threshold"),
    optional=(),
    build=_level,
    key=lambda s: (s.store_id, s.sku),
    describe=lambda s: f"store {s.store_id}, SKU {s.sku}",
)


def _refused(err: Exception, records: list[Any], lines: list[int]) -> list[RowError]:
    assert isinstance(err, UnknownRefs)
    out = []
    for s, line in zip(records, lines, strict=True):
        if s.store_id in err.stores:
            out.append(RowError(line, "store_id", f"no store {s.store_id}; import it first"))
        if s.sku in err.skus:
            out.append(RowError(line, "sku", f"no product {s.sku} in the catalog"))
    return out


def _summary(r: Any) -> str:
    return (
        f"{r.rows} rows for {r.stores} store{'' if r.stores == 1 else 's'}: {r.created} new, {r.updated} changed, "
        f"{r.unchanged} unchanged, {r.removed} no longer stocked"
    )


KIND = Kind(
    name="stock",
    spec=SPEC,
    apply=replace_stock,
    refused=(UnknownRefs,),
    locate=_refused,
    summary=_summary,
)
