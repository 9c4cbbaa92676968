"""The pickup desk's camera (``staff.StaffScreen``): it scans while the desk panel shows,
and only then, through the scan screen's worker (``preview.CameraFeed``).

Any other panel, or another screen, lets the camera go (``stop``), so a code left in
view opens nothing behind the order or the result, and the preview keeps no frame of
the last customer. Showing the desk again starts a new worker, which reads a code
still in view once: a handed-over order then says when and by whom, and the scanner
reports a code once while it stays in view, so nothing loops. One exception: the code
of an order staff went back from without handing it over (``left_order``) is passed
over by the next worker, since it would open that order again at once; once it has
left the view and come back, it counts again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from .preview import CameraFeed, CameraPreview

if TYPE_CHECKING:  # the camera's code loads when a feed starts (preview.CameraFeed)
    from ..camera import Frame
    from ..scan_worker import ScanWorker
    from ..scanner import ScanResult

log = logging.getLogger(__name__)

#: why the camera does not scan, as the i18n key the desk shows ("" while it does)
NO_CAMERA, CAMERA_OFF = "staff_camera_none", "staff_camera_off"


class DeskCamera:
    """``on_code(text)`` for each code read; ``on_problem(key)`` when the camera cannot
    be used, and ``on_problem("")`` once it delivers frames again; on the UI thread."""

    def __init__(self, on_code: Callable[[str], None], on_problem: Callable[[str], None]) -> None:
        self._on_code, self._on_problem = on_code, on_problem
        self._feed = CameraFeed(self._read, self._failed, self._drawn)
        self._preview: CameraPreview | None = None
        self._problem = ""
        #: the code that opened the order shown (None: typed, or from the hand scanner)
        self._opened_by: str | None = None
        #: the code of an order left without a handover, for the next worker; and the
        #: one the running worker passes over
        self._skip: str | None = None
        self.passing_over: str | None = None

    @property
    def worker(self) -> ScanWorker | None:
        return self._feed.worker

    def start(self, setting: str, preview: CameraPreview) -> None:
        """Scan (unless scanning already); ``setting`` is ``kiosk.camera``."""
        if self._feed.worker is not None:
            return
        self._preview = preview
        if setting == "none":
            self._set_problem(NO_CAMERA)
            return
        # a failed camera keeps its message until a frame comes: no flicker while it
        # is still gone
        self.passing_over, self._skip = self._skip, None
        self._feed.start(setting, preview)

    def stop(self) -> None:
        self._feed.stop()
        self.passing_over = None
        if self._preview is not None:
            self._preview.clear()  # nothing of this customer shows the next time

    def opened(self, text: str | None) -> None:
        """The order shown was opened by the camera's ``text`` (None: by other means)."""
        self._opened_by = text

    def left_order(self) -> None:
        """Staff went back from the order shown (or its result) without handing it over."""
        self._skip, self._opened_by = self._opened_by, None

    def forget(self) -> None:
        """The desk locked: nothing of its last customer stays."""
        self._opened_by = self._skip = self.passing_over = None

    def refused(self, on: bool) -> None:
        """The guide frame turns red for a refused code, as on the scan screen."""
        if self._preview is not None:
            self._preview.found = self._preview.refused = on

    # -- from the worker (on the UI thread) ----------------------------------------------

    def _read(self, result: ScanResult) -> None:
        text = result.text.strip()
        if self.passing_over is not None and text == self.passing_over:
            self.passing_over = None  # the order staff just went back from, still in view
            return
        self._on_code(text)

    def _drawn(self, _frame: Frame) -> None:
        if self._problem:
            self._set_problem("")

    def _failed(self, message: str) -> None:
        log.warning("pickup desk camera: %s", message)
        self._feed.stop()
        self._set_problem(CAMERA_OFF)

    def _set_problem(self, key: str) -> None:
        self._problem = key
        self._on_problem(key)
