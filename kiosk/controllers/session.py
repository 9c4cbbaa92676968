"""One shopper's session, and what the kiosk does when nobody touches it.

::

    HOME ──touch──▶ ACTIVE ──idle_s──▶ STILL_THERE ──countdown_s──▶ reset ──▶ HOME
      │  ▲            ▲                     │                                  │
      │  └─wake─┐     └──────touch──────────┘                                 dim_s
      │       DIMMED ◀─────────────────────────────────────────────────────────┘
      └─dim_s──▶

* Every touch counts (``touch``), on-screen keyboard keys included: the app's window
  calls it for each touch, and the controllers that take typed input call it too, so a
  shopper typing is never "idle" (FreeKiosk #195).
* "Still there?" always shows for the whole ``countdown_s`` before a reset, even when
  the app was too busy to tick on time: the countdown starts when it is shown.
* A reset ends the session (``session.ended``), clears every controller's shopper state
  (each one registers its ``reset`` here), closes the keyboard and any dialog (FreeKiosk
  #135), goes back to the default language and starts a new session id. Nothing of the
  last shopper stays; a reset callback that fails is logged and the others still run.
* On the home screen, ``dim_s`` without a touch dims the screen; the touch that wakes it
  only wakes it (``touch`` returns True: the screen swallows it), so a shopper reaching
  for a dark screen does not press whatever lies under their finger.

``session.started`` is recorded at the first touch (or scan) of a session, so a kiosk
standing alone records nothing. Nothing here blocks: ``tick`` (from a Kivy interval,
say every 0.25 s) only compares times.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from edge_sync import EdgeClient, EdgeError
from edge_sync.protocol.ids import new_id

from .. import i18n
from ..settings import KioskSettings
from .clock import Clock, SystemClock
from .observe import Observable
from .words import say

log = logging.getLogger(__name__)


class Phase(StrEnum):
    #: nobody is using the kiosk: the attract screen
    HOME = "home"
    #: a shopper is using it
    ACTIVE = "active"
    #: the "Still there?" overlay counts down
    STILL_THERE = "still_there"
    #: the screen is dimmed (``settings.dim_level``)
    DIMMED = "dimmed"


@dataclass(frozen=True, slots=True)
class ResetReport:
    reason: str
    #: the session that ended, and whether it had started (had a touch)
    ended_id: str
    was_started: bool
    new_id: str
    #: names of the reset callbacks that raised (logged): state that may have stayed
    failed: tuple[str, ...] = ()


class SessionController(Observable):
    """``subscribe`` gets ``"phase"``, ``"overlay"`` (keyboard/dialog), ``"language"``,
    ``"countdown"`` (each second of "Still there?") and ``"reset"``."""

    def __init__(
        self,
        client: EdgeClient | None,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.settings = settings or KioskSettings()
        self.clock = clock or SystemClock()
        self._resets: list[tuple[str, Callable[[], None]]] = []
        self.id = new_id()
        self.phase = Phase.HOME
        self.lang = self.settings.language
        self.keyboard_open = False
        self.dialog: str | None = None
        self._last_touch = self.clock.monotonic()
        self._started_at: float | None = None
        self._countdown_from: float | None = None
        self._last_shown_left: int | None = None
        self._screens = 0

    # -- what the screens call -----------------------------------------------------------

    def register(self, name: str, reset: Callable[[], None]) -> None:
        """``reset`` clears one controller's shopper state; called on every reset."""
        self._resets.append((name, reset))

    def touch(self) -> bool:
        """A touch anywhere (keyboard keys too). True when it only woke the screen and
        must not act on what is under it."""
        self._last_touch = self.clock.monotonic()
        if self.phase is Phase.DIMMED:
            self._set_phase(Phase.HOME)
            return True
        if self.phase is Phase.STILL_THERE:
            self._countdown_from = self._last_shown_left = None
            self._set_phase(Phase.ACTIVE)
        elif self.phase is Phase.HOME:
            self.begin("touch")
        return False

    def begin(self, trigger: str = "touch") -> None:
        """The shopper started (first touch, or a scan on the home screen):
        ``session.started`` once per session."""
        self._last_touch = self.clock.monotonic()
        if self._started_at is None:
            self._started_at = self._last_touch
            self._record("session.started", {"trigger": trigger, "locale": self.lang})
        if self.phase is not Phase.ACTIVE:
            self._countdown_from = self._last_shown_left = None
            self._set_phase(Phase.ACTIVE)

    def screen(self, name: str) -> None:
        """A screen was shown (counted in ``session.ended``)."""
        if self._started_at is not None:
            self._screens += 1

    def set_language(self, lang: str) -> None:
        if lang not in i18n.LANGUAGES:
            raise ValueError(f"language {lang!r}: must be one of {', '.join(i18n.LANGUAGES)}")
        if lang != self.lang:
            self.lang = lang
            self._notify("language")

    def open_keyboard(self) -> None:
        self.keyboard_open = True
        self._notify("overlay")

    def close_keyboard(self) -> None:
        self.keyboard_open = False
        self._notify("overlay")

    def open_dialog(self, name: str) -> None:
        self.dialog = name
        self._notify("overlay")

    def close_dialog(self) -> None:
        self.dialog = None
        self._notify("overlay")

    # -- time ----------------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock.monotonic()
        idle = now - self._last_touch
        if self.phase is Phase.ACTIVE and idle >= self.settings.idle_s:
            self._countdown_from = now
            self._last_shown_left = self.countdown_left()
            self._set_phase(Phase.STILL_THERE)
        elif self.phase is Phase.STILL_THERE:
            assert self._countdown_from is not None
            if now - self._countdown_from >= self.settings.countdown_s:
                self.reset("timeout")
            elif (left := self.countdown_left()) != self._last_shown_left:
                self._last_shown_left = left
                self._notify("countdown")
        elif self.phase is Phase.HOME and idle >= self.settings.dim_s:
            self._set_phase(Phase.DIMMED)

    def countdown_left(self) -> int | None:
        """Whole seconds "Still there?" still shows (rounded up); None when not showing."""
        if self._countdown_from is None:
            return None
        left = self.settings.countdown_s - (self.clock.monotonic() - self._countdown_from)
        return max(0, math.ceil(left))

    def still_there_text(self) -> str:
        return say("still_there", self.lang, n=self.countdown_left() or 0)

    @property
    def dimmed(self) -> bool:
        return self.phase is Phase.DIMMED

    @property
    def brightness(self) -> float:
        return self.settings.dim_level if self.dimmed else 1.0

    # -- reset ---------------------------------------------------------------------------

    def reset(self, reason: str = "timeout") -> ResetReport:
        """End this session and start a clean one (``reason``: timeout, done, staff,
        shutdown). Each controller clears its state while the old session id is still
        current, so an event it records on the way out belongs to that session."""
        failed = []
        for name, fn in self._resets:
            try:
                fn()
            except Exception:
                log.exception("reset of %s failed: its shopper state may have stayed", name)
                failed.append(name)
        was_started = self._started_at is not None
        if self._started_at is not None:
            duration_ms = int((self.clock.monotonic() - self._started_at) * 1000)
            self._record(
                "session.ended",
                {"reason": reason, "duration_ms": max(0, duration_ms), "screens": self._screens},
            )
        ended = self.id
        self.id = new_id()
        self._started_at = self._countdown_from = self._last_shown_left = None
        self._screens = 0
        self.keyboard_open, self.dialog = False, None
        self.lang = self.settings.language
        self._last_touch = self.clock.monotonic()
        self.phase = Phase.HOME
        self._notify("reset")  # the app drops the last shopper's screens and frees them
        return ResetReport(reason, ended, was_started, self.id, tuple(failed))

    # -- inside --------------------------------------------------------------------------

    def _set_phase(self, phase: Phase) -> None:
        if phase is not self.phase:
            self.phase = phase
            self._notify("phase")

    def _record(self, type_: str, data: dict[str, object]) -> None:
        """Session events are analytics: one that cannot be stored is logged, never
        shown (the shopper's kiosk keeps working)."""
        if self.client is None:
            return
        try:
            self.client.enqueue(type_, data, self.id)
        except EdgeError as err:
            log.warning("%s not recorded: %s", type_, err)
