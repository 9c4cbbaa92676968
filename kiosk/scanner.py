"""The kiosk's QR scanner: a camera read in one thread, frames decoded in another.

Two threads, so that neither a slow decoder nor a slow camera holds up the other:

* the capture thread reads the camera as fast as it delivers and leaves each frame in
  a one-frame slot, replacing any frame the decoder has not taken yet (latest frame
  wins: a decoder slower than the camera skips frames, it never builds a backlog, so
  what it reads is at most one frame old);
* the decode thread takes the frame in the slot, at most ``max_decode_rate`` times a
  second, and runs :func:`kiosk.qr_decode.decode_frame` on it (the same function as
  ``python main.py qr decode``, through a :class:`~kiosk.qr_decode.FrameDecoder`,
  which runs its retries on an empty frame only on every third). With no new frame it
  sleeps; it never decodes the same frame twice.

A code is reported once while it stays in view: again only after it has been out of
every decoded frame for ``forget_after`` seconds (frame time), so holding a flyer up
to the camera gives one result, not thirty, and a code that one blurred frame misses
is not reported twice.

Results go to ``on_result`` (called in the decode thread) or, without one, to the
``results`` queue. A Kivy screen hands them to its own thread with
``on_result=lambda r: Clock.schedule_once(lambda _dt: screen.show_scan(r))``; this
module imports no GUI toolkit. An exception from the decoder or from ``on_result``
never stops the loop: it is counted by kind in ``stats`` and logged, with its
traceback, the first time that kind occurs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np

from kiosk.camera import Camera, CameraError, Frame
from kiosk.qr_decode import Decoded, FrameDecoder

log = logging.getLogger(__name__)

Decoder = Callable[[np.ndarray], Decoded]


@dataclass(frozen=True, slots=True)
class ScanResult:
    text: str
    frame_index: int
    frame_ts: float
    """``time.monotonic()`` when the frame holding the code was captured."""
    via: str | None
    """The decode pass that read it (see :data:`kiosk.qr_decode.PASSES`)."""
    decode_ms: float


@dataclass
class ScanStats:
    frames_read: int = 0
    frames_decoded: int = 0
    frames_skipped: int = 0
    """Frames replaced in the slot by a newer one before the decoder took them."""
    reported: int = 0
    decode_errors: Counter[str] = field(default_factory=Counter)
    callback_errors: Counter[str] = field(default_factory=Counter)
    decode_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    """The most recent decode times."""


class Scanner:
    """Scans ``camera`` until stopped or, for a finite source, until it runs out."""

    def __init__(
        self,
        camera: Camera,
        on_result: Callable[[ScanResult], object] | None = None,
        *,
        decoder: Decoder | None = None,
        max_decode_rate: float = 15.0,
        forget_after: float = 1.5,
    ) -> None:
        if max_decode_rate <= 0:
            raise ValueError(f"max_decode_rate must be > 0, not {max_decode_rate}")
        self.camera = camera
        self.results: queue.Queue[ScanResult] = queue.Queue()
        self.stats = ScanStats()
        self.error: CameraError | None = None
        """Why the camera stopped, when it failed."""
        self.finished = threading.Event()
        """Set when the decode thread has ended (stopped, camera failed or ran out)."""
        self._on_result = on_result
        # a FrameDecoder of its own by default: it counts this camera's frames
        self._decoder = decoder if decoder is not None else FrameDecoder()
        self._interval = 1.0 / max_decode_rate
        self._forget_after = forget_after
        self._cond = threading.Condition()
        self._pending: Frame | None = None
        self._latest: Frame | None = None
        self._source_done = False
        self._stopping = False
        self._last_seen: dict[str, float] = {}
        self._logged_kinds: set[tuple[str, str]] = set()
        self._threads: list[threading.Thread] = []

    # -- control -------------------------------------------------------------------

    def start(self) -> Scanner:
        """Open the camera (raising its CameraError here, in the caller) and start."""
        if self._threads:
            raise RuntimeError("a Scanner starts once; make a new one to scan again")
        self.camera.open()
        self._threads = [
            threading.Thread(target=self._capture_loop, name="qr-capture", daemon=True),
            threading.Thread(target=self._decode_loop, name="qr-decode", daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads and close the camera; frames not yet decoded are dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        me = threading.current_thread()
        for t in self._threads:
            if t is not me:
                t.join(timeout)
        capture = self._threads[0] if self._threads else None
        if capture is not None and capture.is_alive():
            # Releasing an OpenCV capture under a read in another thread can crash
            # the process; a camera stuck in a read is left to the daemon thread.
            log.warning("%s did not return from a read within %.1fs", self.camera.name, timeout)
            return
        self.camera.close()

    def wait_finished(self, timeout: float | None = None) -> bool:
        """For a finite source: True once every frame it gave has been dealt with."""
        return self.finished.wait(timeout)

    @property
    def latest_frame(self) -> Frame | None:
        """The newest frame read, for a preview; decoded or not."""
        return self._latest

    def __enter__(self) -> Scanner:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- threads -------------------------------------------------------------------

    def _capture_loop(self) -> None:
        try:
            while not self._stopping:
                frame = self.camera.read()
                if frame is None:
                    break
                with self._cond:
                    if self._pending is not None:
                        self.stats.frames_skipped += 1
                    self._pending = self._latest = frame
                    self.stats.frames_read += 1
                    self._cond.notify_all()
        except CameraError as exc:
            if not self._stopping:  # a camera closed under a read by stop() is no fault
                self.error = exc
                log.error("%s; scanning stopped", exc)
        except Exception as exc:
            if not self._stopping:
                self.error = CameraError(f"{self.camera.name} failed: {exc!r}")
                log.exception("%s failed; scanning stopped", self.camera.name)
        finally:
            with self._cond:
                self._source_done = True
                self._cond.notify_all()

    def _take_frame(self, not_before: float) -> Frame | None:
        """The newest undecoded frame, no earlier than ``not_before``; None to end."""
        with self._cond:
            while self._pending is None and not (self._source_done or self._stopping):
                self._cond.wait()
            # Throttle: wait out the rest of the interval, taking whatever frame is
            # newest when it ends (frames arriving meanwhile replace each other).
            delay = not_before - time.monotonic()
            if delay > 0 and not self._stopping:
                self._cond.wait_for(lambda: self._stopping, timeout=delay)
            if self._stopping or self._pending is None:
                return None
            frame, self._pending = self._pending, None
            return frame

    def _decode_loop(self) -> None:
        not_before = 0.0
        try:
            while (frame := self._take_frame(not_before)) is not None:
                not_before = time.monotonic() + self._interval
                self._decode_one(frame)
        finally:
            self.finished.set()

    def _decode_one(self, frame: Frame) -> None:
        t0 = time.perf_counter()
        try:
            decoded = self._decoder(frame.image)
        except Exception as exc:
            self._count(self.stats.decode_errors, "the decoder", exc)
            return
        ms = (time.perf_counter() - t0) * 1000
        self.stats.frames_decoded += 1
        self.stats.decode_ms.append(ms)
        for text in decoded.texts:
            last = self._last_seen.get(text)
            self._last_seen[text] = frame.ts
            if last is not None and frame.ts - last <= self._forget_after:
                continue  # still in view (or missed by a frame or two): reported already
            self.stats.reported += 1
            self._emit(ScanResult(text, frame.index, frame.ts, decoded.via, ms))
        if len(self._last_seen) > 64:
            horizon = frame.ts - self._forget_after
            self._last_seen = {t: ts for t, ts in self._last_seen.items() if ts >= horizon}

    def _emit(self, result: ScanResult) -> None:
        if self._on_result is None:
            self.results.put(result)
            return
        try:
            self._on_result(result)
        except Exception as exc:
            self._count(self.stats.callback_errors, "on_result", exc)

    def _count(self, counter: Counter[str], where: str, exc: Exception) -> None:
        kind = type(exc).__name__
        counter[kind] += 1
        if (where, kind) not in self._logged_kinds:
            self._logged_kinds.add((where, kind))
            log.error(
                "%s raised %s on a frame; scanning goes on (further %s from it are "
                "counted in the scanner's stats, not logged)",
                where,
                kind,
                kind,
                exc_info=exc,
            )
        else:
            log.debug("%s raised %s again (%d so far)", where, kind, counter[kind])
