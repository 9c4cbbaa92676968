"""A camera attached to the kiosk: read through V4L2, or through OpenCV where V4L2
cannot serve it.

On Linux the camera is opened through V4L2 itself (``linuxpy``, pure Python over the
kernel's ioctls and memory-mapped buffers), in Motion-JPEG or else packed YUYV, the two
formats every USB (UVC) camera offers; Pillow turns the frames into BGR arrays
(:mod:`kiosk.camera.frames`). That keeps OpenCV, ~20 MB resident with its bundled
FFmpeg and BLAS, out of the kiosk. A camera offering neither format, one that cannot
stream into memory-mapped buffers, another system, or ``backend="opencv"`` goes
through OpenCV's ``VideoCapture`` instead, as before.
"""

from __future__ import annotations

import contextlib
import logging
import select
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiosk.camera.base import Camera, CameraError
from kiosk.camera.files import opencv
from kiosk.camera.frames import bgr_from_jpeg, bgr_from_yuyv

if TYPE_CHECKING:
    import cv2

log = logging.getLogger(__name__)

#: the V4L2 pixel formats read here, in order of preference: MJPEG carries 640×480 at
#: 30 fps within USB 2.0's bandwidth, where YUYV may be limited to a lower rate
V4L2_FORMATS = ("MJPG", "YUYV")
BACKENDS = ("auto", "v4l2", "opencv")


def fourcc(code: int) -> str:
    """A V4L2 pixel format number as its four letters (``0x47504A4D`` → ``"MJPG"``)."""
    return int(code).to_bytes(4, "little").decode("latin-1")


def choose_format(offered: list[str]) -> str | None:
    """The format to ask a camera for, of those it offers; None when it has none of
    ``V4L2_FORMATS``."""
    return next((f for f in V4L2_FORMATS if f in offered), None)


class _NoV4l2(Exception):
    """V4L2 cannot serve this camera; OpenCV may."""


class DeviceCamera(Camera):
    """A camera attached to this machine, by index (0 is /dev/video0 on Linux)."""

    #: consecutive failed reads after which the camera counts as gone
    MAX_FAILED_READS = 30
    #: how long one read waits for the next frame (30 of them: 7.5 s before "stopped")
    READ_TIMEOUT_S = 0.25

    def __init__(
        self, index: int = 0, width: int = 640, height: int = 480, backend: str = "auto"
    ) -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"camera backend {backend!r}: one of {', '.join(BACKENDS)}")
        self.index, self.width, self.height = index, width, height
        self.backend = backend
        self.name = f"camera {index}"
        self.pixel_format: str | None = None
        """What the camera delivers: ``MJPG``/``YUYV`` through V4L2, ``opencv`` else."""
        self._dev: Any = None
        self._capture: Any = None
        self._scratch = bytearray()
        self._size = (width, height)
        self._stride = width * 2
        self._cap: cv2.VideoCapture | None = None
        self._failed = 0

    def _missing(self, why: str = "") -> CameraError:
        return CameraError(
            f"{self.name} could not be opened{why}: check that a camera is connected, "
            f"that /dev/video{self.index} exists and that this user may read it (the "
            "'video' group), and that no other program holds it; a video file or an "
            "image folder can stand in for it"
        )

    def _open(self) -> None:
        self._failed = 0
        if self.backend != "opencv" and sys.platform.startswith("linux"):
            if not Path(f"/dev/video{self.index}").exists():
                raise self._missing()
            try:
                self._open_v4l2()
                return
            except _NoV4l2 as why:
                if self.backend == "v4l2":
                    raise CameraError(f"{self.name} cannot be read through V4L2: {why}") from None
                log.info("%s: %s; reading it through OpenCV", self.name, why)
        self._open_opencv()

    # -- V4L2 --------------------------------------------------------------------------

    def _open_v4l2(self) -> None:
        try:
            from linuxpy.video.device import (
                BufferType,
                Capability,
                Device,
                MemoryMap,
                VideoCapture,
            )
        except ImportError:
            raise _NoV4l2("linuxpy is not installed") from None
        dev = Device.from_id(self.index)  # non-blocking: reads wait in select, with a timeout
        try:
            dev.open()
        except OSError as exc:
            raise self._missing(f" ({exc.strerror or exc})") from None
        try:
            caps = dev.info.device_capabilities
            if Capability.VIDEO_CAPTURE not in caps or Capability.STREAMING not in caps:
                raise _NoV4l2("it does not stream video into memory-mapped buffers")
            offered = [
                fourcc(f.pixel_format)
                for f in dev.info.formats
                if f.type == BufferType.VIDEO_CAPTURE
            ]
            chosen = choose_format(offered)
            if chosen is None:
                raise _NoV4l2(f"it offers {', '.join(offered) or 'no format'}, not MJPG or YUYV")
            capture = VideoCapture(dev, size=4, buffer_type=MemoryMap)
            capture.set_format(self.width, self.height, chosen)
            got = capture.get_format()  # the driver picks the nearest size it has
            self.pixel_format = fourcc(got.pixel_format)
            if self.pixel_format not in V4L2_FORMATS:
                raise _NoV4l2(f"it was asked for {chosen} and gives {self.pixel_format}")
            self._size = (got.width, got.height)
            self._stride = int(got.bytes_per_line) or got.width * 2
            try:
                rate = float(capture.get_fps())
                self.fps = rate if rate > 0 else None
            except (OSError, ZeroDivisionError, ValueError):
                self.fps = None
            capture.open()  # buffers mapped and queued, streaming on
            self._scratch = bytearray(max(int(got.size), 1))
            self._dev, self._capture = dev, capture
        except OSError as exc:  # busy (another program streams from it), unplugged …
            dev.close()
            raise self._missing(f" ({exc.strerror or exc})") from None
        except BaseException:
            dev.close()
            raise

    def _read_v4l2(self) -> np.ndarray | None:
        ready, _, _ = select.select([self._dev], [], [], self.READ_TIMEOUT_S)
        if not ready:
            return None
        try:  # copied out while the buffer is still dequeued, then queued again
            frame = self._capture.buffer.raw_read(self._scratch)
        except BlockingIOError:  # woken without a frame
            return None
        except OSError as exc:
            raise CameraError(
                f"{self.name} failed while streaming ({exc.strerror or exc}): check its "
                "cable and that no other program took it over"
            ) from None
        data = frame.data
        if self.pixel_format == "MJPG":
            return bgr_from_jpeg(data) if len(data) else None
        return bgr_from_yuyv(data, *self._size, stride=self._stride)

    # -- OpenCV ------------------------------------------------------------------------

    def _open_opencv(self) -> None:
        cv2 = opencv()
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise self._missing()
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        reported = cap.get(cv2.CAP_PROP_FPS)
        self.fps = reported if reported > 0 else None
        self.pixel_format, self._cap = "opencv", cap

    def _read_opencv(self) -> np.ndarray | None:
        assert self._cap is not None
        ok, image = self._cap.read()
        return image if ok and image is not None else None

    # -- both --------------------------------------------------------------------------

    def _read(self) -> np.ndarray | None:
        read = self._read_opencv if self._cap is not None else self._read_v4l2
        while True:
            image = read()
            if image is not None:
                self._failed = 0
                return image
            # A live camera drops the odd frame (USB bandwidth, exposure change, a
            # torn JPEG); only a run of failures means it is gone.
            self._failed += 1
            if self._failed >= self.MAX_FAILED_READS:
                raise CameraError(
                    f"{self.name} stopped delivering frames ({self._failed} failed reads in "
                    "a row): check its cable and that no other program took it over"
                )
            time.sleep(0.01)

    def _close(self) -> None:
        if self._capture is not None:
            with contextlib.suppress(OSError):
                self._capture.close()
            self._capture = None
        if self._dev is not None:
            self._dev.close()
            self._dev = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None
