"""Scan: the live camera preview with a guide frame, "Got it" the moment a code is read,
then the outcome in plain words, or on to the welcome screen; and "Type the code".

The camera and the decoder run in ``kiosk.scan_worker.ScanWorker`` (started when the
screen is entered, stopped when it is left) behind a ``preview.CameraFeed``, which draws
the frames into the ``CameraPreview``; this screen passes codes to
``ScanFlowController``. The check runs one frame after "Got it" is set, so the shopper
sees it before the outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.widget import Widget

from .. import theme
from ..controllers.scanflow import KEY_ROWS, ScanFlowController, ScanStep
from ..controllers.welcome import WelcomeController
from .base import BaseScreen
from .preview import CameraFeed

if TYPE_CHECKING:  # the camera's code loads when the feed starts (preview.CameraFeed)
    from ..scanner import ScanResult

log = logging.getLogger(__name__)


class ScanScreen(BaseScreen):
    screen_name = "scan"

    step = StringProperty(ScanStep.READING.value)
    title = StringProperty("")
    message = StringProperty("")
    next_text = StringProperty("")
    refused = BooleanProperty(False)
    typed = StringProperty("")
    can_submit = BooleanProperty(False)
    camera_off = BooleanProperty(False)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._feed = CameraFeed(self._on_code, self._on_camera_error)
        self._flow: ScanFlowController | None = None
        #: a screenshot's visit: the preview runs, codes in view are not acted on
        self._shooting = False
        self._keys_built = False

    def _build_keys(self) -> None:
        """The typed-code grid: one row per ``KEY_ROWS`` entry, Delete at the end of the
        last; built the first time the shopper types a code (most only scan), and kept."""
        if self._keys_built:
            return
        self._keys_built = True
        from kivy.factory import Factory
        from kivy.uix.boxlayout import BoxLayout

        for n, row in enumerate(KEY_ROWS):
            line = BoxLayout(spacing=dp(theme.KEY_GAP))
            for char in row:
                key = Factory.ScanKey(text=char)
                key.bind(on_release=lambda _b, c=char: self.key(c))
                line.add_widget(key)
            if n == len(KEY_ROWS) - 1:
                for _ in range(len(KEY_ROWS[0]) - len(row) - 2):
                    line.add_widget(Widget())
                erase = Factory.ScanKey(size_hint_x=2, font_size=sp(theme.BODY_SP))
                self.bind(lang=lambda _s, lang, e=erase: setattr(e, "text", self.t("scan_erase")))
                erase.text = self.t("scan_erase")
                erase.bind(on_release=lambda _b: self.backspace())
                line.add_widget(erase)
            self.ids.key_grid.add_widget(line)

    @property
    def flow(self) -> ScanFlowController:
        if self._flow is None:
            self._flow = ScanFlowController.of(self.controllers)
            self.listen(self._flow, self.controllers.session)
        return self._flow

    # -- entering and leaving ----------------------------------------------------------

    def on_pre_enter(self, *_a: Any) -> None:
        self.flow.enter()
        self.ids.preview.clear()
        super().on_pre_enter()
        self._start_camera()

    def on_leave(self, *_a: Any) -> None:
        self._shooting = False
        self._stop_camera()
        self.ids.preview.clear()

    def dispose(self) -> None:
        self._stop_camera()
        super().dispose()

    def _start_camera(self) -> None:
        self._feed.start(self.controllers.settings.camera, self.ids.preview)

    def _stop_camera(self) -> None:
        self._feed.stop()

    # -- from the worker (on the UI thread) ----------------------------------------------

    def _on_code(self, result: ScanResult) -> None:
        if self._shooting:
            return
        if self.flow.read(result.text, result.frame_ts):
            # the code is read: the camera and decoder stop (the preview keeps the frame
            # that held it) so the check and the screen change have the CPU; "Try again"
            # starts them again
            self._stop_camera()
            self.refresh()  # "Got it" now, not at the next redraw
            self._check()

    def _on_camera_error(self, message: str) -> None:
        self.flow.camera_failed(message)

    # -- the checks --------------------------------------------------------------------

    def _check(self) -> None:
        self._off_ui(self.flow.check)

    def _off_ui(self, check: Callable[[], str | None]) -> None:
        """Run a check (the signature, the store's lists, the visit's events written to
        the outbox) in a worker, so the UI thread does no I/O and draws "Got it"
        meanwhile; where it leads is taken up on the UI thread, unless the session
        ended meanwhile (then nothing of it stays)."""
        session_id = self.controllers.session.id

        def work() -> None:
            try:
                where = check()
            except Exception:  # ScanAction answers every code; this is a fault
                log.exception("the scan check failed")
                where = None
            Clock.schedule_once(lambda _dt: self._checked(where, session_id), 0)

        threading.Thread(target=work, name="scan-check", daemon=True).start()

    def _checked(self, where: str | None, session_id: str) -> None:
        if session_id != self.controllers.session.id:
            self.flow.reset()  # a reset came first: its outcome is not the new shopper's
            return
        self._after(where)

    def _after(self, where: str | None) -> None:
        if where == "welcome" and self.flow.outcome is not None:
            WelcomeController.of(self.controllers).show(self.flow.outcome)
            self.flow.trace.append(("screen_change", time.monotonic()))
            self.go("welcome")

    # -- touches -----------------------------------------------------------------------

    def back(self) -> None:
        self.controllers.session.touch()
        if self.flow.step is ScanStep.TYPING:
            self.close_typing()
            return
        self.controllers.session.reset("done")

    def again(self) -> None:
        self.flow.again()
        self.ids.preview.clear()
        self._start_camera()

    def open_typing(self) -> None:
        self._build_keys()
        self._stop_camera()
        self.flow.open_typing()

    def close_typing(self) -> None:
        self.flow.close_typing()
        self._start_camera()

    def key(self, char: str) -> None:
        self.flow.key(char)

    def backspace(self) -> None:
        self.flow.backspace()

    def submit(self) -> None:
        if self.flow.begin_submit():
            self._off_ui(self.flow.finish_submit)

    # -- drawing -------------------------------------------------------------------------

    def refresh(self) -> None:
        f = self.flow
        self.lang = self.controllers.session.lang
        self.step = f.step.value
        self.camera_off = f.camera_error is not None
        self.refused = f.refused()
        self.ids.preview.found = f.step in (ScanStep.GOT, ScanStep.RESULT)
        self.ids.preview.refused = self.refused
        if f.step is ScanStep.GOT:
            self.title, self.message, self.next_text = self.t("scan_got_it"), "", ""
            self.message = self.t("scan_checking")
        elif f.step is ScanStep.RESULT:
            self.title, self.message, self.next_text = f.message(), "", f.next_step()
        elif f.step is ScanStep.TYPING:
            self._build_keys()
            self.title = self.t("scan_type_title")
            self.message, self.next_text = self.t("scan_type_hint"), ""
        else:
            self.title = self.t("scan_hold")
            self.message = self.t("scan_camera_off") if self.camera_off else ""
            self.next_text = "" if self.camera_off else self.t("scan_hint")
        self.typed = f.typed_shown()
        self.can_submit = f.can_submit()

    def shot_state(self) -> None:
        """The viewfinder as a shopper first sees it: a code in view is not scanned, so
        the screenshot run neither leaves the screen nor records a visit."""
        self._shooting = True
        self.flow.enter()
