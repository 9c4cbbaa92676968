"""The product page: stock here and at the nearby stores, and how fresh that is.

Freshness is honest: "Updated 5 min ago" while the data is recent, and "Data from
2 days ago — may be out of date" once it is older than ``stale_after_s`` (the kiosk
has been offline, or central has not counted the stock since). The age is that of the
store's stock count (``stock_as_of``), or of the snapshot when there is none, measured
on the injected clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge_sync import EdgeClient, EdgeError
from edge_sync.inventory.availability import NearbyStock, ProductAvailability
from edge_sync.protocol.ids import parse_ts

from ..settings import KioskSettings
from .bound import SessionBound
from .clock import Clock
from .search import stock_text
from .session import SessionController
from .words import ago_text, distance_text, price_text, say

log = logging.getLogger(__name__)

SOURCES = ("search", "browse", "scan", "campaign")


@dataclass(frozen=True, slots=True)
class NearbyRow:
    store_id: str
    name: str
    distance_text: str
    state: str
    state_text: str
    count: int | None


@dataclass(frozen=True, slots=True)
class ProductView:
    sku: str
    name: str
    brand: str
    price_text: str
    image: str
    state: str
    state_text: str
    count: int | None
    listed: bool
    #: nearest first; only stores that list the product
    nearby: tuple[NearbyRow, ...]
    freshness_text: str
    #: older than ``stale_after_s`` (show it in the warning style)
    stale: bool


def _nearby_text(n: NearbyStock, lang: str) -> str:
    if n.state == "out":
        return say("stock_out_there", lang)
    if n.quantity is not None:
        return say("stock_count", lang, n=n.quantity)
    return say("stock_low" if n.state == "low" else "stock_in", lang)


def _nearby_row(n: NearbyStock, lang: str) -> NearbyRow:
    distance = distance_text(n.distance_km, lang)
    return NearbyRow(n.store_id, n.name, distance, n.state, _nearby_text(n, lang), n.quantity)


class ProductController(SessionBound):
    """``show(sku)`` opens a product; ``view()`` is what the page draws (in the
    session's language, so a language switch needs only a redraw)."""

    def __init__(
        self,
        client: EdgeClient,
        session: SessionController,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(client, session, settings, clock)
        self._data: ProductAvailability | None = None
        session.register("product", self.reset)

    def show(self, sku: str, source: str = "search") -> ProductView | None:
        """Open ``sku`` (None when the catalog has no such product) and record
        ``product.viewed``."""
        if source not in SOURCES:
            raise ValueError(f"source {source!r}: must be one of {', '.join(SOURCES)}")
        self.session.touch()
        try:
            self._data = self.client.availability.product(sku)
        except Exception:
            log.exception("product %r could not be read", sku)
            self._data = None
        self._notify("product")
        if self._data is None:
            return None
        here = self._data.here
        data = {"sku": sku, "source": source, "in_stock": here.state != "out"}
        if here.quantity is not None:
            data["stock_qty"] = max(0, here.quantity)
        try:
            self.client.enqueue("product.viewed", data, self.session.id)
        except EdgeError as err:
            log.warning("product.viewed not recorded: %s", err)
        return self.view()

    def refresh(self) -> ProductView | None:
        """Read the open product again (the daemon applied a delta)."""
        if self._data is None:
            return None
        self._data = self.client.availability.product(self._data.product.sku)
        self._notify("product")
        return self.view()

    def view(self) -> ProductView | None:
        d = self._data
        if d is None:
            return None
        lang = self.session.lang
        p, here = d.product, d.here
        nearby = tuple(_nearby_row(n, lang) for n in d.nearby)
        text, stale = self.freshness()
        return ProductView(
            p.sku, p.name, p.brand, price_text(p.price_minor, p.currency, lang), p.image,
            here.state, stock_text(here, lang), here.quantity, here.listed, nearby, text, stale,
        )  # fmt: skip

    def freshness(self) -> tuple[str, bool]:
        """The as-of line and whether the data is stale."""
        lang = self.session.lang
        age = None
        if self._data is not None:
            as_of = self._data.data.stock_as_of or self._data.data.built_at
            if as_of:
                try:
                    age = max(0.0, (self.clock.now() - parse_ts(as_of)).total_seconds())
                except ValueError:
                    age = None
        if age is None:
            return say("fresh_unknown", lang), True
        if age > self.settings.stale_after_s:
            return say("fresh_stale", lang, ago=ago_text(age, lang)), True
        return say("fresh_recent", lang, ago=ago_text(age, lang)), False

    def reset(self) -> None:
        self._data = None
        self._notify("product")
