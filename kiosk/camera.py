"""Camera sources for the kiosk: one interface, a real camera and two file-backed ones.

:class:`Camera` is the interface the scanner reads from. :class:`DeviceCamera` opens a
camera by index through OpenCV; :class:`VideoFileCamera` and :class:`ImageFolderCamera`
play a recording or a folder of stills, for tests and the demo. Every source hands out
:class:`Frame` objects: a BGR ``uint8`` array and the ``time.monotonic()`` at which it
was captured.

OpenCV is imported by the two capture sources only, when one is opened: importing it
makes some 32 MB resident and its first image operations about 25 MB more, nearly a
quarter of the kiosk's 250 MB budget, for a module whose capture is all the kiosk needs
of it. Still images are read with Pillow (:func:`read_image`), and the decode path works
with Pillow and NumPy (:mod:`kiosk.qr_decode`), so a kiosk fed by an image folder never
loads OpenCV at all.

File sources can be paced (``realtime=True``) at the recording's frame rate, so that a
scanner behind them drops frames exactly as it would behind a live camera; unpaced,
they deliver frames as fast as they can be read.

A source that cannot be opened or stops delivering raises :class:`CameraError`, whose
message says what to check.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

if TYPE_CHECKING:
    from types import TracebackType

    import cv2

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class CameraError(Exception):
    """A camera source that cannot be opened or read; the message says what to check."""


#: the most pixels of an image file read (a 50-megapixel phone photo has 8160×6144);
#: a file claiming more is refused from its header, before it is decoded
MAX_IMAGE_PIXELS = 64_000_000


def read_image(path: str | Path) -> np.ndarray | None:
    """An image file as an H×W×3 BGR ``uint8`` array, turned upright as its EXIF
    orientation says (a phone's photo of a code is stored sideways); None when the file
    is missing, no image Pillow can decode, or over ``MAX_IMAGE_PIXELS``."""
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                return None
            im = ImageOps.exif_transpose(im).convert("RGB")
            rgb = np.asarray(im)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _cv2() -> ModuleType:
    """OpenCV, imported on first use by a capture source (see the module's docstring)."""
    import cv2

    return cv2


@dataclass(frozen=True, slots=True)
class Frame:
    image: np.ndarray
    """H×W×3 BGR, ``uint8``."""
    ts: float
    """``time.monotonic()`` when the frame was captured."""
    index: int
    """0 for the first frame read since the source was opened."""


class Camera(ABC):
    """A source of frames. ``open()``, then ``read()`` until it returns None (a finite
    source ran out), then ``close()``; or use it as a context manager."""

    name: str = "camera"
    fps: float | None = None
    """The nominal frame rate, when the source knows it."""

    def __init__(self) -> None:
        self._count = 0
        self._opened = False

    @property
    def is_open(self) -> bool:
        return self._opened

    def open(self) -> None:
        if self._opened:
            return
        self._open()
        self._opened = True
        self._count = 0

    def read(self) -> Frame | None:
        """The next frame, or None when a file source without looping has run out."""
        if not self._opened:
            raise CameraError(f"{self.name}: read() before open() or after close()")
        image = self._read()
        if image is None:
            return None
        frame = Frame(image, time.monotonic(), self._count)
        self._count += 1
        return frame

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    def __enter__(self) -> Camera:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> np.ndarray | None: ...

    @abstractmethod
    def _close(self) -> None: ...


class _Pacer:
    """Sleeps so that frame n is handed out no earlier than n / fps after the first."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self.start: float | None = None
        self.n = 0

    def wait(self) -> None:
        now = time.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + self.n * self.interval
        if due > now:
            time.sleep(due - now)
        self.n += 1


class DeviceCamera(Camera):
    """A camera attached to this machine, by OpenCV index (0 is /dev/video0 on Linux)."""

    #: consecutive failed reads after which the camera counts as gone
    MAX_FAILED_READS = 30

    def __init__(self, index: int = 0, width: int = 640, height: int = 480) -> None:
        super().__init__()
        self.index, self.width, self.height = index, width, height
        self.name = f"camera {index}"
        self._cap: cv2.VideoCapture | None = None
        self._failed = 0

    def _open(self) -> None:
        cv2 = _cv2()
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise CameraError(
                f"{self.name} could not be opened: check that a camera is connected, that "
                f"/dev/video{self.index} exists and that this user may read it (the 'video' "
                "group), and that no other program holds it; a video file or an image "
                "folder can stand in for it"
            )
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        reported = cap.get(cv2.CAP_PROP_FPS)
        self.fps = reported if reported > 0 else None
        self._cap, self._failed = cap, 0

    def _read(self) -> np.ndarray | None:
        assert self._cap is not None
        while True:
            ok, image = self._cap.read()
            if ok and image is not None:
                self._failed = 0
                return image
            # A live camera drops the odd frame (USB bandwidth, exposure change);
            # only a run of failures means it is gone.
            self._failed += 1
            if self._failed >= self.MAX_FAILED_READS:
                raise CameraError(
                    f"{self.name} stopped delivering frames ({self._failed} failed reads in "
                    "a row): check its cable and that no other program took it over"
                )
            time.sleep(0.01)

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileCamera(Camera):
    """A recording played as a camera; ``loop`` starts it over at the end."""

    def __init__(self, path: str | Path, loop: bool = False, realtime: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.loop, self.realtime = loop, realtime
        self.name = f"video file {self.path}"
        self._cap: cv2.VideoCapture | None = None
        self._pacer: _Pacer | None = None

    def _open(self) -> None:
        if not self.path.is_file():
            what = "is a directory" if self.path.is_dir() else "does not exist"
            raise CameraError(f"{self.name} {what}: give the path of a video file")
        cv2 = _cv2()
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise CameraError(
                f"{self.name} cannot be read as video: OpenCV has no decoder for it, or it "
                "is not a video (an AVI with MJPG or an MP4 with H.264/MPEG-4 works)"
            )
        reported = cap.get(cv2.CAP_PROP_FPS)
        self.fps = reported if reported > 0 else None
        self._cap = cap
        self._pacer = _Pacer(self.fps or 30.0) if self.realtime else None

    def _read(self) -> np.ndarray | None:
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok and self.loop and self._count > 0:
            self._cap.set(_cv2().CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None:
            if self._count == 0:
                raise CameraError(f"{self.name} holds no frame OpenCV can decode")
            return None
        if self._pacer is not None:
            self._pacer.wait()
        return image

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageFolderCamera(Camera):
    """The images in a folder, in file-name order, as frames; ``loop`` starts over."""

    def __init__(
        self, path: str | Path, loop: bool = False, realtime: bool = False, fps: float = 10.0
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.loop, self.realtime, self.fps = loop, realtime, fps
        self.name = f"image folder {self.path}"
        self._files: list[Path] = []
        self._next = 0
        self._pacer: _Pacer | None = None

    def _open(self) -> None:
        if not self.path.is_dir():
            what = "is a file, not a folder" if self.path.exists() else "does not exist"
            raise CameraError(f"{self.name} {what}: give a folder of images")
        files = sorted(
            p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise CameraError(
                f"{self.name} holds no images (looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        self._files, self._next = files, 0
        self._pacer = _Pacer(self.fps) if self.realtime else None

    @property
    def files(self) -> list[Path]:
        return list(self._files)

    def _read(self) -> np.ndarray | None:
        if self._next >= len(self._files):
            if not self.loop:
                return None
            self._next = 0
        path = self._files[self._next]
        self._next += 1
        image = read_image(path)
        if image is None:
            raise CameraError(f"{path} in {self.name} is not an image the kiosk can read")
        if self._pacer is not None:
            self._pacer.wait()
        return image

    def _close(self) -> None:
        self._files = []


def open_camera(source: str | int, loop: bool = False, realtime: bool = False) -> Camera:
    """The source a config names: a camera index (``0``, ``"0"``), a folder of images,
    or a video file; opened, so a missing one fails here with its CameraError."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        cam: Camera = DeviceCamera(int(source))
    elif Path(source).is_dir():
        cam = ImageFolderCamera(source, loop=loop, realtime=realtime)
    else:
        cam = VideoFileCamera(source, loop=loop, realtime=realtime)
    cam.open()
    return cam
