"""Welcome: the greeting after an accepted scan (no name: a scan carries none), the
campaign's offer when the code came from one, the one-tap consent prompt, then "Find a
product" or "Done" (feedback after a linked visit, else home)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from ..controllers.scan import Outcome, ScanOutcome
from ..controllers.welcome import WelcomeController
from .base import BaseScreen
from .search import CheckTick  # noqa: F401  (the kv rule draws it: the check-in's tick)

ASSETS = Path(__file__).resolve().parents[2] / "assets"


class WelcomeScreen(BaseScreen):
    screen_name = "welcome"

    greeting = StringProperty("")
    message = StringProperty("")
    offer_text = StringProperty("")
    valid_text = StringProperty("")
    visual = StringProperty("")
    has_offer = BooleanProperty(False)
    has_visual = BooleanProperty(False)
    asks_consent = BooleanProperty(False)
    consent_answer = StringProperty("")

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._welcome: WelcomeController | None = None

    @property
    def welcome(self) -> WelcomeController:
        if self._welcome is None:
            self._welcome = WelcomeController.of(self.controllers)
            self.listen(self._welcome, self.controllers.session)
        return self._welcome

    def refresh(self) -> None:
        w = self.welcome
        self.lang = self.controllers.session.lang
        self.greeting = w.greeting()
        self.message = w.message()
        offer = w.offer()
        self.has_offer = offer is not None
        self.offer_text = offer.text if offer else ""
        self.valid_text = offer.valid_text if offer else ""
        path = ASSETS / "images" / offer.visual if offer and offer.visual else None
        self.has_visual = bool(path and path.is_file())
        self.visual = str(path) if self.has_visual else ""
        self.asks_consent = w.asks_consent()
        self.consent_answer = w.consent_answer_text()

    def consent(self, granted: bool) -> None:
        self.welcome.answer_consent(granted)

    def find_product(self) -> None:
        self.controllers.session.touch()
        self.go("search")

    def done(self) -> None:
        where = self.welcome.done()
        if where != "home":  # a reset has brought home already
            self.go(where)

    def shot_state(self) -> None:
        """A recipient's code with the first campaign the store lists, or a check-in."""
        if self.welcome.outcome is not None:
            return
        c = self.controllers
        running = c.client.campaigns(c.clock.now().date())
        entry = running[0] if running else None
        if entry is not None:
            out = ScanOutcome(Outcome.OFFER, "offer", campaign=entry, profile_id="p-shot")
        else:
            out = ScanOutcome(Outcome.CHECKED_IN, "checked_in", profile_id="p-shot")
        self.welcome.show(out)
