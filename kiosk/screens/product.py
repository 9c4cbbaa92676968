"""The product page: the picture, name, brand and price, the stock here (big), the
nearby stores that sell it with their distance and state, and how fresh that is
(``ProductController.view()``).

A picture is shown only from this device's disk: a path under ``assets/images`` (or an
absolute one) that exists. A web address or a missing file shows the neutral
placeholder; the kiosk fetches nothing at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from .base import BaseScreen, load_kv
from .search import StockBadge, shown  # noqa: F401  (search.kv draws StockBadge)

IMAGES = Path(__file__).resolve().parents[2] / "assets" / "images"
PLACEHOLDER = IMAGES / "fallback" / "product.png"


def local_image(image: str | None) -> Path:
    """The file to show for a product's ``image``: itself when it is on this device,
    else the placeholder (never a download)."""
    if not image or "://" in image:
        return PLACEHOLDER
    path = Path(image)
    path = path if path.is_absolute() else IMAGES / path
    try:
        resolved = path.resolve()
    except OSError:
        return PLACEHOLDER
    return resolved if resolved.is_file() else PLACEHOLDER


class NearbyRow(BoxLayout):
    name = StringProperty("")
    distance = StringProperty("")
    state = StringProperty("in_stock")
    state_text = StringProperty("")


class ProductScreen(BaseScreen):
    screen_name = "product"

    name_text = StringProperty("")
    brand = StringProperty("")
    price = StringProperty("")
    #: the picture's file; "" while no product is open (no texture held for nobody)
    image = StringProperty("")
    state = StringProperty("out")
    state_text = StringProperty("")
    freshness = StringProperty("")
    stale = BooleanProperty(False)
    has_nearby = BooleanProperty(False)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        c = self.controllers
        self._shown_nearby: tuple[Any, ...] = ()
        self._came_from = "search"
        self.listen(c.product, c.session)

    def back(self) -> None:
        """Back where the shopper came from (the search, or a scan that opened it)."""
        self.go(self._came_from)

    def on_pre_enter(self, *a: Any) -> None:
        out = getattr(self.manager.transition, "screen_out", None)
        name = getattr(out, "name", None)
        self._came_from = name if name and name not in ("product", "home") else "search"
        super().on_pre_enter(*a)

    def refresh(self) -> None:
        c = self.controllers
        self.lang = c.session.lang
        v = c.product.view()
        if v is None:  # reset, or nothing opened: show nothing of anyone
            self.name_text = self.brand = self.price = self.state_text = self.freshness = ""
            self.image = ""
            self._nearby(())
            return
        if not shown(self):
            return  # drawn when it shows (on_pre_enter): no image nor rows for nobody
        self.name_text, self.brand, self.price = v.name, v.brand, v.price_text
        self.image = str(local_image(v.image))
        self.state, self.state_text = v.state, v.state_text
        self.freshness, self.stale = v.freshness_text, v.stale
        self._nearby(v.nearby)

    def _nearby(self, rows: tuple[Any, ...]) -> None:
        self.has_nearby = bool(rows)
        if rows == self._shown_nearby:
            return
        box = self.ids.nearby
        box.clear_widgets()
        for r in rows:
            box.add_widget(NearbyRow(name=r.name, distance=r.distance_text, state=r.state,
                                     state_text=r.state_text))  # fmt: skip
        self._shown_nearby = rows
        self.ids.scroll.scroll_y = 1

    def shot_state(self) -> None:
        """A product from a search for "rain" (the test kiosk's poncho, sold nearby),
        unless one is open already."""
        c = self.controllers
        if c.product.view() is not None:
            return
        rows = c.search.rows()
        if not rows:
            c.search.set_query("rain")
            c.search.submit()
            rows = c.search.rows()
        if rows:
            c.product.show(rows[0].sku, "search")


load_kv("product")
