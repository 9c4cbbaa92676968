"""The shopper's scan screen, without widgets: "Got it" the moment a code is read, then
the check (``ScanAction``) and where it leads; and the typed-code fallback.

``READING`` → (a code read) → ``GOT`` ("Got it", before any check) → ``check()``:
an accepted visit or campaign code goes to the welcome screen (``check`` returns
``"welcome"``); a pickup code and every refusal stay here as ``RESULT``, with the
outcome's plain words and what to do next. ``TYPING`` is the on-screen entry for the
12-character code printed under a QR code; ``submit()`` checks it the same way.

The scan screen owns the camera worker; this controller only gets its texts
(``read``) and says what to show. It reaches the scan action through ``action()``
each time, since ``Controllers`` replaces it on every session reset.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from edge_sync.protocol.tokens.fallback import LENGTH

from .. import i18n
from .observe import Observable
from .scan import Outcome, ScanAction, ScanOutcome
from .session import SessionController
from .words import say

#: the typed-code grid: the fallback alphabet (Crockford base32: no I, L, O, U) and, last
#: row, the check symbols only the 12th character uses
KEY_ROWS = ("0123456789", "ABCDEFGHJK", "MNPQRSTVWX", "YZ*~$=U")
#: outcomes that go on to the welcome screen; the rest stay on the scan screen
TO_WELCOME = frozenset(
    {Outcome.CHECKED_IN, Outcome.OFFER, Outcome.OFFER_UNAVAILABLE, Outcome.CAMPAIGN_NOT_HERE,
     Outcome.CAMPAIGN_NOT_STARTED, Outcome.CAMPAIGN_ENDED}
)  # fmt: skip


class ScanStep(StrEnum):
    READING = "reading"
    GOT = "got"
    RESULT = "result"
    TYPING = "typing"


class ScanFlowController(Observable):
    def __init__(self, session: SessionController, action: Callable[[], ScanAction]) -> None:
        super().__init__()
        self.session = session
        self._action = action
        self.step = ScanStep.READING
        self.outcome: ScanOutcome | None = None
        self.camera_error: str | None = None
        self.typed_text = ""
        self._pending: str | None = None
        #: (what, time.monotonic()) of the last scan, for the latency figures
        self.trace: list[tuple[str, float]] = []
        session.register("scanflow", self.reset)

    @classmethod
    def of(cls, controllers: Any) -> ScanFlowController:
        """The kiosk's scan flow, made on first use (``Controllers`` has no slot for it)."""
        flow = getattr(controllers, "scanflow", None)
        if flow is None:
            flow = cls(controllers.session, lambda: controllers.scan)
            controllers.scanflow = flow
        return flow

    # -- the camera ----------------------------------------------------------------------

    def enter(self) -> None:
        """The screen is shown: read codes (a code read before is forgotten)."""
        self.step, self.outcome, self._pending, self.typed_text = ScanStep.READING, None, None, ""
        self.camera_error = None
        self._notify("step")

    def read(self, text: str, frame_ts: float | None = None) -> bool:
        """A code the camera read: "Got it" now, the check in ``check()``. False when the
        screen is not waiting for one (a result on show, the shopper typing)."""
        if self.step is not ScanStep.READING:
            return False
        self.session.touch()
        self.trace = [("frame", frame_ts)] if frame_ts is not None else []
        self.trace.append(("got_it", time.monotonic()))
        self._pending = text
        self.step = ScanStep.GOT
        self._notify("step")
        return True

    def check(self) -> str | None:
        """Check the code read; the screen to go to (``"welcome"``), or None to stay."""
        if self.step is not ScanStep.GOT or self._pending is None:
            return None
        text, self._pending = self._pending, None
        self.trace.append(("check_start", time.monotonic()))
        return self._show(self._action().scan(text, self.session.id))

    def camera_failed(self, message: str) -> None:
        self.camera_error = message
        self._notify("camera")

    def again(self) -> None:
        """ "Scan again" after a result."""
        self.session.touch()
        self.enter()

    # -- typing ------------------------------------------------------------------------

    def open_typing(self) -> None:
        self.session.touch()
        self.session.open_keyboard()
        self.step, self.typed_text, self.outcome = ScanStep.TYPING, "", None
        self._notify("step")

    def close_typing(self) -> None:
        self.session.touch()
        self.session.close_keyboard()
        self.enter()

    def key(self, char: str) -> None:
        self.session.touch()
        if self.step is ScanStep.TYPING and len(self.typed_text) < LENGTH:
            self.typed_text += char
            self._notify("typed")

    def backspace(self) -> None:
        self.session.touch()
        if self.step is ScanStep.TYPING and self.typed_text:
            self.typed_text = self.typed_text[:-1]
            self._notify("typed")

    def typed_shown(self) -> str:
        """The typed code in groups of four, as it is printed: ``ABCD EFGH JK``."""
        t = self.typed_text
        return " ".join(t[i : i + 4] for i in range(0, len(t), 4))

    def can_submit(self) -> bool:
        return self.step is ScanStep.TYPING and len(self.typed_text) == LENGTH

    def submit(self) -> str | None:
        """Check the typed code; where to go, as ``check``."""
        return self.finish_submit() if self.begin_submit() else None

    def begin_submit(self) -> bool:
        """The UI thread's half of ``submit`` (the touch, the keyboard closed); False
        when nothing was being typed. ``finish_submit`` (the check) may run in a worker."""
        self.session.touch()
        if self.step is not ScanStep.TYPING:
            return False
        self.session.close_keyboard()
        self.trace = [("typed", time.monotonic())]
        return True

    def finish_submit(self) -> str | None:
        return self._show(self._action().typed(self.typed_text, self.session.id))

    # -- what to show ----------------------------------------------------------------------

    def message(self) -> str:
        """The outcome in plain words (empty while reading)."""
        if self.outcome is None:
            return ""
        return self.outcome.message(self.session.lang)

    def next_step(self) -> str:
        """What to do next, where the outcome's own words do not say it."""
        if self.outcome is None:
            return ""
        key = f"scan_next_{self.outcome.outcome.value}"
        return say(key, self.session.lang) if key in i18n.TEXTS else ""

    def refused(self) -> bool:
        return self.outcome is not None and not self.outcome.accepted

    def reset(self) -> None:
        self.step, self.outcome, self._pending, self.typed_text = ScanStep.READING, None, None, ""
        self.camera_error, self.trace = None, []
        self._notify("step")

    def _show(self, outcome: ScanOutcome) -> str | None:
        self.outcome = outcome
        self.trace.append(("checked", time.monotonic()))
        if outcome.outcome in TO_WELCOME:
            self.step = ScanStep.READING  # back on this screen later: scanning again
            self._notify("step")
            return "welcome"
        self.step = ScanStep.RESULT
        self._notify("step")
        return None
