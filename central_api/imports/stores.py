"""``central import-stores FILE`` and ``POST /api/v1/stores/import``: stores by id.

Columns: ``id`` (a store id, as devices and topics carry it), ``name``, ``address``,
``latitude`` and ``longitude`` (decimal degrees), ``timezone`` (IANA, e.g.
``Europe/Berlin``) and, optionally, ``show_exact_stock`` (true/false, default false:
the kiosk then says in stock / low / out without the number). Stores are created or
updated; a store the file leaves out stays.
"""

from __future__ import annotations

from typing import Any

from ..domain.inventory import fields as f
from ..domain.inventory.records import Store
from ..domain.inventory.stores import upsert_stores
from .csvbase import Cells, Spec
from .runner import Kind


def _store(c: Cells) -> Store | None:
    s = Store(
        id=c.take("id", f.parse_store_id),
        name=c.take("name", f.parse_text, 200),
        address=c.take("address", f.parse_text, 300),
        latitude=c.take("latitude", f.parse_coordinate, -90, 90, c.decimal_comma),
        longitude=c.take("longitude", f.parse_coordinate, -180, 180, c.decimal_comma),
        timezone=c.take("timezone", f.parse_timezone),
        show_exact_stock=c.take("show_exact_stock", f.parse_flag),
    )
    return None if c.errors else s


SPEC: Spec[Store] = Spec(
    required=("id", "name", "address", "latitude", "longitude", "timezone"),
    optional=("show_exact_stock",),
    build=_store,
    key=lambda s: s.id,
    describe=lambda s: f"store {s.id}",
)


def _summary(r: Any) -> str:
    return (
        f"{r.rows} stores: {r.created} new, {r.updated} changed, {r.unchanged} unchanged "
        f"(stores version {r.version})"
    )


KIND = Kind(name="stores", spec=SPEC, apply=upsert_stores, summary=_summary)
