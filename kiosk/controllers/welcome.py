"""The welcome screen after an accepted scan: a greeting, the campaign's offer when the
code came from one, and a one-tap consent prompt; then "Find a product" or done.

No personal data: a ``ScanOutcome`` carries the profile's id, never a name, so the
greeting is the same for everyone ("Welcome back!" for a known profile). The kiosk
holds no consent records either, so "none recorded" means none given in this session:
the prompt shows once per linked profile per session, and its answer goes out as
``consent.recorded`` (``method`` ``kiosk_prompt``, ``purpose`` ``profiling``: what
central's journeys and scores need). "Done" after a linked visit asks for feedback;
otherwise it ends the session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from edge_sync import EdgeClient, EdgeError

from .feedback import FeedbackController
from .observe import Observable
from .scan import Outcome, ScanOutcome
from .session import SessionController
from .words import say

log = logging.getLogger(__name__)

CONSENT_TYPE, CONSENT_VERSION = "consent.recorded", 1
CONSENT_PURPOSE = "profiling"
#: the version of ``welcome_consent_question`` (kiosk.texts.scanflow): change it with the text
CONSENT_TEXT_VERSION = "kiosk-consent-1"


@dataclass(frozen=True, slots=True)
class Offer:
    text: str
    valid_text: str
    #: the visual's file under ``assets/images`` (a campaign visual of kind "asset")
    visual: str | None


class WelcomeController(Observable):
    def __init__(
        self, client: EdgeClient, session: SessionController, feedback: FeedbackController
    ) -> None:
        super().__init__()
        self.client = client
        self.session = session
        self.feedback = feedback
        self.outcome: ScanOutcome | None = None
        #: True / False once answered in this session, None while not asked
        self.consent: bool | None = None
        self.consent_recorded: bool | None = None
        self._asked: set[str] = set()
        session.register("welcome", self.reset)

    @classmethod
    def of(cls, controllers: Any) -> WelcomeController:
        """The kiosk's welcome controller, made on first use (``Controllers`` has no slot)."""
        ctl = getattr(controllers, "welcome", None)
        if ctl is None:
            ctl = cls(controllers.client, controllers.session, controllers.feedback)
            controllers.welcome = ctl
        return ctl

    def show(self, outcome: ScanOutcome) -> None:
        """An accepted scan to greet."""
        self.outcome, self.consent, self.consent_recorded = outcome, None, None
        self._notify("outcome")

    # -- what the screen shows -----------------------------------------------------------

    @property
    def profile_id(self) -> str | None:
        return self.outcome.profile_id if self.outcome is not None else None

    def greeting(self) -> str:
        return say("welcome_back" if self.profile_id else "welcome_hello", self.session.lang)

    def message(self) -> str:
        """One line under the greeting: checked in, or what the code's offer is."""
        if self.outcome is None:
            return ""
        if self.outcome.outcome is Outcome.CHECKED_IN:
            return say("welcome_checked_in", self.session.lang)
        return self.outcome.message(self.session.lang)  # your offer, not here, ended …

    def offer(self) -> Offer | None:
        """The campaign's offer, only while it runs here (``offer`` outcome)."""
        o = self.outcome
        lang = self.session.lang
        if o is None or o.campaign is None or (text := o.offer_text(lang)) is None:
            return None
        until = o.campaign.offer.valid_until
        day = f"{until:%d.%m.%Y}" if lang == "de" else f"{until:%d %b %Y}"
        visual = o.campaign.offer.visual
        name = visual.name if visual.kind == "asset" else None
        return Offer(text, say("offer_valid_until", lang, day=day), name)

    def asks_consent(self) -> bool:
        """The prompt shows for a linked profile not asked yet in this session."""
        pid = self.profile_id
        return pid is not None and self.consent is None and pid not in self._asked

    def consent_answer_text(self) -> str:
        if self.consent is None:
            return ""
        key = "welcome_consent_thanks_yes" if self.consent else "welcome_consent_thanks_no"
        return say(key, self.session.lang)

    # -- what the shopper does -------------------------------------------------------------

    def answer_consent(self, granted: bool) -> bool:
        """Yes / No: ``consent.recorded`` in the outbox. True when it was stored."""
        self.session.touch()
        pid = self.profile_id
        if pid is None or not self.asks_consent():
            return False
        self.consent = granted
        self._asked.add(pid)
        data = {
            "profile_id": pid, "purpose": CONSENT_PURPOSE, "granted": granted,
            "method": "kiosk_prompt", "text_version": CONSENT_TEXT_VERSION,
        }  # fmt: skip
        try:
            self.client.enqueue(CONSENT_TYPE, data, self.session.id, v=CONSENT_VERSION)
            self.consent_recorded = True
        except EdgeError as err:
            log.error("%s not recorded: %s", CONSENT_TYPE, err)
            self.consent_recorded = False
        self._notify("consent")
        return self.consent_recorded

    def done(self) -> str:
        """ "Done": the feedback screen after a linked visit (``"feedback"``), else the
        session ends and home shows (``"home"``)."""
        self.session.touch()
        pid = self.profile_id
        if pid is not None:
            self.feedback.begin("visit", profile_id=pid)
            return "feedback"
        self.session.reset("done")
        return "home"

    def reset(self) -> None:
        self.outcome, self.consent, self.consent_recorded = None, None, None
        self._asked = set()
        self._notify("reset")
