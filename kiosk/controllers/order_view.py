"""The order as the pickup desk shows it: a title with the customer's initials, a line per
product (its name, from the store's catalog when the shop sent none) and the item count,
in the session's language."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge_sync.inventory.availability import Availability
from edge_sync.pickups import PickupOrder

from .words import say

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OrderLineView:
    text: str  # "2× Wool socks"
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: str
    title: str  # "Order o-1234abcd · J.D."
    lines: tuple[OrderLineView, ...]
    items_text: str
    initials: str | None


def catalog_name(availability: Availability, sku: str) -> str | None:
    """A line the shop sent without a name: the product's name in this store's catalog,
    so staff see what to fetch rather than a bare SKU."""
    try:
        found = availability.product(sku)
    except Exception:  # no store data yet, or it is being swapped: the SKU will do
        log.exception("catalog name of %s", sku)
        return None
    return found.product.name if found is not None else None


def order_view(order: PickupOrder, lang: str, availability: Availability) -> OrderView:
    lines = tuple(
        OrderLineView(say("order_line", lang, n=ln.quantity,
                          name=ln.name or catalog_name(availability, ln.sku) or ln.sku),
                      ln.sku, ln.quantity)
        for ln in order.lines
    )  # fmt: skip
    title = say("order_title", lang, order=order.order_id)
    if order.initials:
        title += f" · {order.initials}"
    items = say("order_item" if order.items == 1 else "order_items", lang, n=order.items)
    return OrderView(order.order_id, title, lines, items, order.initials)
