"""One-tap feedback after a pickup or a linked visit: a rating, an optional reason,
``survey.answered`` in the outbox, "Thank you", and home within ``feedback_return_s``.

``RATE`` → (tap a face) → ``REASON`` (three chips, or skip) → ``THANKS`` → reset.
The reasons offered depend on the rating: what went wrong for 1–3 (central's friction
findings), what went well for 4–5 (advocacy touchpoints).

``survey.answered`` is not in ``edge_sync.protocol.schemas`` yet: ``SurveyAnswered``
below is the shape this controller sends, for the protocol to adopt (v1, analytics).
Until it does, the outbox refuses the event; the shopper still gets their "Thank
you" and the refusal is logged (``last_recorded`` is False).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from edge_sync import EdgeClient, EdgeError

from ..settings import KioskSettings
from .bound import SessionBound
from .clock import Clock
from .session import SessionController
from .words import say

log = logging.getLogger(__name__)

SURVEY_TYPE, SURVEY_VERSION = "survey.answered", 1
SCALE = 5
CONTEXTS = ("pickup", "visit")
#: the chips under a low rating (friction) and a high one (advocacy)
LOW_REASONS = ("waited_long", "item_missing", "kiosk_hard")
HIGH_REASONS = ("quick", "staff_helpful", "good_offer")
_RefId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]


class SurveyAnswered(BaseModel):
    """``survey.answered`` v1 data, as proposed for ``edge_sync.protocol.schemas``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    survey: Literal["kiosk_feedback"] = "kiosk_feedback"
    context: Literal["pickup", "visit"]
    rating: int = Field(ge=1, le=SCALE)
    scale: Literal[5] = SCALE
    reason: Literal["waited_long", "item_missing", "kiosk_hard", "quick", "staff_helpful",
                    "good_offer"] | None = None  # fmt: skip
    #: the linked visit's profile (ids only, as ``visit.linked``), or the order handed over
    profile_id: _RefId | None = None
    order_id: _RefId | None = None


class FeedbackStep(StrEnum):
    IDLE = "idle"
    RATE = "rate"
    REASON = "reason"
    THANKS = "thanks"


class FeedbackController(SessionBound):
    def __init__(
        self,
        client: EdgeClient,
        session: SessionController,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(client, session, settings, clock)
        self.step = FeedbackStep.IDLE
        self.rating: int | None = None
        self.last_recorded: bool | None = None
        self._context: str | None = None
        self._refs: dict[str, str] = {}
        self._thanked_at: float | None = None
        session.register("feedback", self.reset)

    def begin(
        self, context: str, *, profile_id: str | None = None, order_id: str | None = None
    ) -> None:
        """Ask for a rating after a pickup (``order_id``) or a linked visit (``profile_id``)."""
        if context not in CONTEXTS:
            raise ValueError(f"context {context!r}: must be one of {', '.join(CONTEXTS)}")
        self._context, self.rating, self.last_recorded = context, None, None
        self._refs = {k: v for k, v in (("profile_id", profile_id), ("order_id", order_id)) if v}
        self._set(FeedbackStep.RATE)

    def question(self) -> str:
        return say(f"feedback_question_{self._context or 'visit'}", self.session.lang)

    def faces(self) -> list[tuple[int, str]]:
        """(rating, the face's label for screen readers and the caption)."""
        return [(n, say(f"rating_{n}", self.session.lang)) for n in range(1, SCALE + 1)]

    def rate(self, rating: int) -> None:
        self.session.touch()
        if self.step is not FeedbackStep.RATE or not 1 <= rating <= SCALE:
            return
        self.rating = rating
        self._set(FeedbackStep.REASON)

    def decline(self) -> None:
        """ "No thanks" instead of a rating: nothing is recorded, and the next shopper
        gets a fresh home screen (this one is done)."""
        if self.step is FeedbackStep.RATE:
            self.session.reset("done")

    def reasons(self) -> list[tuple[str, str]]:
        """The chips for the rating given: (reason, its words)."""
        chips = LOW_REASONS if (self.rating or 0) <= 3 else HIGH_REASONS
        return [(r, say(f"reason_{r}", self.session.lang)) for r in chips]

    def choose(self, reason: str | None = None) -> bool:
        """A chip (or "skip": None): record the answer and say thank you. True when the
        outbox took the event."""
        self.session.touch()
        if self.step is not FeedbackStep.REASON or self.rating is None:
            return False
        offered = {r for r, _ in self.reasons()}
        data = SurveyAnswered(
            context=self._context or "visit", rating=self.rating,
            reason=reason if reason in offered else None, **self._refs,
        ).model_dump(exclude_none=True)  # fmt: skip
        try:
            self.client.enqueue(SURVEY_TYPE, data, self.session.id, v=SURVEY_VERSION)
            self.last_recorded = True
        except EdgeError as err:
            log.warning("%s not recorded: %s", SURVEY_TYPE, err)
            self.last_recorded = False
        self._thanked_at = self.clock.monotonic()
        self._set(FeedbackStep.THANKS)
        return self.last_recorded

    def thanks(self) -> str:
        return say("feedback_thanks", self.session.lang)

    def tick(self) -> None:
        """After "Thank you" has shown ``feedback_return_s``: home, a new session."""
        if self.step is not FeedbackStep.THANKS or self._thanked_at is None:
            return
        if self.clock.monotonic() - self._thanked_at >= self.settings.feedback_return_s:
            self.session.reset("done")

    def reset(self) -> None:
        self.step, self.rating, self._context, self._refs = FeedbackStep.IDLE, None, None, {}
        self._thanked_at = None
        self._notify("step")

    def _set(self, step: FeedbackStep) -> None:
        self.step = step
        self._notify("step")
