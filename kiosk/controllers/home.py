"""The home / attract screen: the current campaigns' offers as central pushed them,
rotating every ``attract_rotate_s`` (paused while touched), the two big actions, and the
English/German switch. With no campaign running here, one fallback card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from edge_sync import EdgeClient
from edge_sync.protocol.campaign_list import CampaignEntry

from .. import i18n
from ..settings import KioskSettings
from .bound import SessionBound
from .clock import Clock
from .session import SessionController
from .words import say

log = logging.getLogger(__name__)

#: the card shown when no campaign runs here (an image under assets/)
FALLBACK_VISUAL = "fallback/home.png"
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}


@dataclass(frozen=True, slots=True)
class OfferCard:
    #: None for the fallback card
    campaign_id: str | None
    text: str
    valid_text: str | None
    #: "asset" (a file under assets/) or "image" (a URL central pushed)
    visual_kind: str
    visual: str


class HomeController(SessionBound):
    """``subscribe`` gets ``"offers"`` (list read again), ``"card"`` (rotation) and
    ``"language"``."""

    def __init__(
        self,
        client: EdgeClient,
        session: SessionController,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(client, session, settings, clock)
        self._campaigns: list[CampaignEntry] = []
        self.index = 0
        self._shown_at = self.clock.monotonic()
        session.subscribe(self._on_session)
        session.register("home", self.reset)

    def refresh(self, today: date | None = None) -> list[OfferCard]:
        """Read the stored campaign list again (at start, and when the daemon stored a
        new one)."""
        try:
            self._campaigns = self.client.campaigns(today or self.clock.now().date())
        except Exception:
            log.exception("campaigns could not be read: showing the fallback")
            self._campaigns = []
        self.index = 0 if self.index >= max(1, len(self._campaigns)) else self.index
        self._notify("offers")
        return self.cards()

    def cards(self) -> list[OfferCard]:
        lang = self.session.lang
        if not self._campaigns:
            return [OfferCard(None, say("home_fallback", lang), None, "asset", FALLBACK_VISUAL)]
        return [self._card(c, lang) for c in self._campaigns]

    def card(self) -> OfferCard:
        cards = self.cards()
        return cards[self.index % len(cards)]

    def _card(self, c: CampaignEntry, lang: str) -> OfferCard:
        until = c.offer.valid_until
        day = f"{until:%d.%m.%Y}" if lang == "de" else f"{until:%d %b %Y}"
        visual = c.offer.visual
        source = (visual.url if visual.kind == "image" else visual.name) or FALLBACK_VISUAL
        kind = visual.kind if source != FALLBACK_VISUAL else "asset"
        return OfferCard(c.id, c.offer.text.get(lang), say("offer_valid_until", lang, day=day),
                         kind, source)  # fmt: skip

    def tick(self) -> None:
        """Rotate the attract loop; a touch (any session activity) holds the card."""
        n = len(self.cards())
        if n < 2:
            return
        if self.clock.monotonic() - self._shown_at >= self.settings.attract_rotate_s:
            self.index = (self.index + 1) % n
            self._shown_at = self.clock.monotonic()
            self._notify("card")

    def hold(self) -> None:
        """The shopper touched the card: keep it a full interval more."""
        self._shown_at = self.clock.monotonic()

    # -- language ------------------------------------------------------------------------

    def languages(self) -> list[tuple[str, str, bool]]:
        """(code, name in that language, selected) for the switch."""
        return [(code, LANGUAGE_NAMES[code], code == self.session.lang) for code in i18n.LANGUAGES]

    def set_language(self, lang: str) -> None:
        self.session.touch()
        self.session.set_language(lang)

    def scan_label(self) -> str:
        return say("home_scan", self.session.lang)

    def search_label(self) -> str:
        return say("home_search", self.session.lang)

    def reset(self) -> None:
        self.index = 0
        self._shown_at = self.clock.monotonic()

    def _on_session(self, what: str) -> None:
        if what == "language":
            self._notify("language")
