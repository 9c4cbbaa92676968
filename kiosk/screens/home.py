"""Home / attract: the current campaign's offer as central pushed it (rotating), and the
two things a shopper can do here: scan a code or find a product.

The attract loop (``HomeController.tick`` notifies ``"card"``) fades the next card in
within ``theme.TRANSITION_S``; a touch on the card holds it. A visual is shown from this
device only: an asset that exists, else the project's own fallback picture (a visual
central names by URL is not fetched at run time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.animation import Animation
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from .. import theme
from ..controllers.home import FALLBACK_VISUAL
from .base import BaseScreen

ASSETS = Path(__file__).resolve().parents[2] / "assets"


class HomeScreen(BaseScreen):
    screen_name = "home"

    store_name = StringProperty("")
    offer_text = StringProperty("")
    valid_text = StringProperty("")
    visual = StringProperty("")
    has_visual = BooleanProperty(False)
    scan_label = StringProperty("")
    search_label = StringProperty("")
    #: [(code, name, selected)]
    languages = ListProperty([])

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        c = self.controllers
        self._card_key: tuple[str | None, str] | None = None
        self.listen(c.home, c.session)

    def refresh(self) -> None:
        c = self.controllers
        self.lang = c.session.lang
        store = c.client.availability.store()
        self.store_name = store.get("name") or c.client.outbox.store_id
        card = c.home.card()
        self.offer_text = card.text or ""
        self.valid_text = card.valid_text or ""
        path = ASSETS / "images" / card.visual if card.visual_kind == "asset" else None
        if path is None or not path.is_file():
            path = ASSETS / "images" / FALLBACK_VISUAL
        self.has_visual = path.is_file()
        self.visual = str(path) if self.has_visual else ""
        key = (card.campaign_id, card.text)
        if self._card_key is not None and key != self._card_key:
            self._fade_in()
        self._card_key = key
        self.scan_label = c.home.scan_label()
        self.search_label = c.home.search_label()
        self.languages = c.home.languages()

    def _fade_in(self) -> None:
        card = self.ids.card
        Animation.cancel_all(card, "opacity")
        card.opacity = 0.3
        Animation(opacity=1, d=theme.TRANSITION_S, t="out_quad").start(card)

    def on_touch_down(self, touch: Any) -> bool:
        if self.ids.card.collide_point(*touch.pos):
            self.controllers.home.hold()  # the shopper is reading it: keep it
        return super().on_touch_down(touch)

    def choose_language(self, code: str) -> None:
        self.controllers.home.set_language(code)

    def start(self, where: str) -> None:
        self.controllers.session.begin("qr_scan" if where == "scan" else "touch")
        self.go(where)
