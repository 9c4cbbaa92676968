"""The scan screen's worker: the camera and the decoder off the UI thread.

The camera named by ``KioskSettings.camera`` (``device:0``, ``file:PATH`` or ``none``) is
opened in a thread of its own, since a USB camera can take a second to open. Then
:class:`kiosk.scanner.Scanner` reads and decodes it in its two threads, and a third,
small thread hands the newest frame to the screen for the preview, at most
``preview_fps`` times a second. Both the frames and the decoded codes reach the screen
through ``Clock.schedule_once``, so the screen's callbacks run on the UI thread, which
never decodes. A preview the UI thread has not drawn yet is replaced, not queued: a
busy UI skips frames and never builds a backlog.

A worker runs once: ``start()`` when the scan screen is entered, ``stop()`` when it is
left (it returns at once; the threads wind down and the camera closes behind it). A
result or frame of a stopped worker is dropped, so nothing of one visit to the screen
reaches the next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .camera import (
    IMAGE_SUFFIXES,
    Camera,
    CameraError,
    DeviceCamera,
    Frame,
    ImageFolderCamera,
    VideoFileCamera,
    read_image,
)
from .camera.base import Pacer
from .scanner import Scanner, ScanResult

log = logging.getLogger(__name__)

#: called on the UI thread with ``time.monotonic()``-stamped work to do
Schedule = Callable[[Callable[[float], None]], object]


class StillImageCamera(Camera):
    """One image as a camera showing it forever, at ``fps`` (a printed code held still)."""

    def __init__(self, path: str | Path, fps: float = 10.0) -> None:
        super().__init__()
        self.path, self.fps = Path(path), fps
        self.name = f"image file {self.path}"
        self._image: np.ndarray | None = None
        self._pacer: Pacer | None = None

    def _open(self) -> None:
        image = read_image(self.path)
        if image is None:
            raise CameraError(f"{self.name} is missing or not an image the kiosk can read")
        self._image, self._pacer = image, Pacer(self.fps)

    def _read(self) -> np.ndarray | None:
        assert self._image is not None and self._pacer is not None
        self._pacer.wait()
        return self._image

    def _close(self) -> None:
        self._image = None


def camera_for(setting: str) -> Camera | None:
    """The (unopened) source a ``camera`` setting names; None for ``none``. File sources
    loop and run at their own frame rate, as a live camera would."""
    if setting == "none":
        return None
    if setting.startswith("device:"):
        return DeviceCamera(int(setting.removeprefix("device:")))
    if setting.startswith("opencv:"):
        return DeviceCamera(int(setting.removeprefix("opencv:")), backend="opencv")
    path = Path(setting.removeprefix("file:"))
    if path.is_dir():
        return ImageFolderCamera(path, loop=True, realtime=True)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return StillImageCamera(path)
    return VideoFileCamera(path, loop=True, realtime=True)


class ScanWorker:
    """Scans the camera ``setting`` names and reports on the UI thread:
    ``on_frame(frame)`` for the preview, ``on_code(result)`` for each code read (once
    while it stays in view) and ``on_error(message)`` when the camera cannot be used."""

    def __init__(
        self,
        setting: str,
        schedule: Schedule,
        on_frame: Callable[[Frame], None],
        on_code: Callable[[ScanResult], None],
        on_error: Callable[[str], None],
        *,
        preview_fps: float = 15.0,
        max_decode_rate: float = 15.0,
    ) -> None:
        self.setting = setting
        self._schedule = schedule
        self._on_frame, self._on_code, self._on_error = on_frame, on_code, on_error
        self._interval = 1.0 / preview_fps
        self._decode_rate = max_decode_rate
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._scanner: Scanner | None = None
        self._slot: Frame | None = None
        self._started = False

    @property
    def running(self) -> bool:
        return self._started and not self._stop.is_set()

    @property
    def scanner(self) -> Scanner | None:
        return self._scanner

    def start(self) -> ScanWorker:
        if self._started:
            raise RuntimeError("a ScanWorker starts once; make a new one for the next visit")
        self._started = True
        threading.Thread(target=self._run, name="scan-worker", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop scanning; returns at once (the camera closes in the worker thread)."""
        self._stop.set()

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            camera = camera_for(self.setting)
        except (ValueError, OSError) as err:
            message = f"camera {self.setting!r}: {err}"
            self._ui(lambda: self._on_error(message))
            return
        if camera is None:
            self._ui(lambda: self._on_error("no camera configured (kiosk.camera = none)"))
            return
        scanner = Scanner(camera, self._found, max_decode_rate=self._decode_rate)
        try:
            scanner.start()
        except CameraError as err:
            message = str(err)
            log.error("scan screen: %s", message)
            self._ui(lambda: self._on_error(message))
            return
        self._scanner = scanner
        try:
            self._preview_loop(scanner)
        finally:
            scanner.stop()

    def _preview_loop(self, scanner: Scanner) -> None:
        shown = -1
        while not self._stop.wait(self._interval):
            if scanner.finished.is_set() and scanner.error is not None:
                failed = str(scanner.error)
                self._ui(lambda failed=failed: self._on_error(failed))
                return
            frame = scanner.latest_frame
            if frame is None or frame.index == shown:
                continue
            shown = frame.index
            with self._lock:
                idle, self._slot = self._slot is None, frame
            if idle:  # else the UI has one to draw already, and takes this one instead
                self._schedule(self._deliver_frame)

    def _deliver_frame(self, _dt: float) -> None:
        with self._lock:
            frame, self._slot = self._slot, None
        if frame is not None and not self._stop.is_set():
            self._on_frame(frame)

    def _found(self, result: ScanResult) -> None:  # in the scanner's decode thread
        if not self._stop.is_set():
            self._ui(lambda: self._on_code(result))

    def _ui(self, fn: Callable[[], None]) -> None:
        def run(_dt: float) -> None:
            if not self._stop.is_set():
                fn()

        self._schedule(run)
