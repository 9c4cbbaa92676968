"""The file-backed cameras, for tests, the demo and a kiosk fed pictures: a folder of
still images (:class:`ImageFolderCamera`, read with Pillow by :func:`read_image`) and a
recording (:class:`VideoFileCamera`). An MJPG AVI is read without OpenCV
(:mod:`kiosk.camera.frames`), the way a USB camera's MJPEG is; any other video goes
through OpenCV, imported when such a file is opened."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

from kiosk.camera.base import Camera, CameraError, Pacer
from kiosk.camera.frames import MjpegAvi, NotMjpegAvi, bgr_from_jpeg, bgr_of

if TYPE_CHECKING:
    import cv2

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


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
            return bgr_of(ImageOps.exif_transpose(im))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def opencv() -> ModuleType:
    """OpenCV, imported on first use by a source that needs it (``kiosk.camera``)."""
    import cv2

    return cv2


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
        self._pacer: Pacer | None = None

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
        self._pacer = Pacer(self.fps) if self.realtime else None

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


class VideoFileCamera(Camera):
    """A recording played as a camera; ``loop`` starts it over at the end."""

    def __init__(self, path: str | Path, loop: bool = False, realtime: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.loop, self.realtime = loop, realtime
        self.name = f"video file {self.path}"
        self._avi: MjpegAvi | None = None
        self._next = 0
        self._cap: cv2.VideoCapture | None = None
        self._pacer: Pacer | None = None

    @property
    def backend(self) -> str:
        """``"mjpeg"`` (read here, decoded by Pillow) or ``"opencv"``, once open."""
        return "mjpeg" if self._avi is not None else "opencv"

    def _open(self) -> None:
        if not self.path.is_file():
            what = "is a directory" if self.path.is_dir() else "does not exist"
            raise CameraError(f"{self.name} {what}: give the path of a video file")
        try:
            self._avi, self._next = MjpegAvi(self.path), 0
        except (NotMjpegAvi, OSError):
            self._open_opencv()
        else:
            self.fps = self._avi.info.fps
            if not len(self._avi):
                self._close()
                raise CameraError(f"{self.name} holds no frame: the recording is empty")
        self._pacer = Pacer(self.fps or 30.0) if self.realtime else None

    def _open_opencv(self) -> None:
        cv2 = opencv()
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

    def _read(self) -> np.ndarray | None:
        image = self._read_mjpeg() if self._avi is not None else self._read_opencv()
        if image is not None and self._pacer is not None:
            self._pacer.wait()
        return image

    def _read_mjpeg(self) -> np.ndarray | None:
        avi = self._avi
        assert avi is not None
        if self._next >= len(avi):
            if not self.loop:
                return None
            self._next = 0
        i, self._next = self._next, self._next + 1
        image = bgr_from_jpeg(avi.frame(i))
        if image is None:
            raise CameraError(
                f"frame {i + 1} of {len(avi)} in {self.name} is no JPEG the kiosk can "
                "decode: the recording is damaged"
            )
        return image

    def _read_opencv(self) -> np.ndarray | None:
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok and self.loop and self._count > 0:
            self._cap.set(opencv().CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None:
            if self._count == 0:
                raise CameraError(f"{self.name} holds no frame OpenCV can decode")
            return None
        return image

    def _close(self) -> None:
        if self._avi is not None:
            self._avi.close()
            self._avi = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None
