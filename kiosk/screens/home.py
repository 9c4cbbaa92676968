"""Home / attract: the current campaign's offer as central pushed it (rotating), and the
two things a shopper can do here: scan a code or find a product."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty

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
        self.has_visual = bool(path and path.exists())
        self.visual = str(path) if self.has_visual else ""
        self.scan_label = c.home.scan_label()
        self.search_label = c.home.search_label()
        self.languages = c.home.languages()

    def choose_language(self, code: str) -> None:
        self.controllers.home.set_language(code)

    def start(self, where: str) -> None:
        self.controllers.session.begin("qr_scan" if where == "scan" else "touch")
        self.go(where)
