"""Camera sources for the kiosk: one interface, a real camera and two file-backed ones.

:class:`Camera` is the interface the scanner reads from (``base``).
:class:`DeviceCamera` opens a camera by index, through V4L2 in MJPEG or YUYV, or through
OpenCV where V4L2 cannot serve it (``device``); :class:`VideoFileCamera` and
:class:`ImageFolderCamera` play a recording or a folder of stills, for tests and the
demo (``files``). Every source hands out :class:`Frame` objects: a BGR ``uint8`` array
and the ``time.monotonic()`` at which it was captured.

OpenCV is imported only where nothing else reads the source (a camera V4L2 cannot
serve, a video other than an MJPG AVI): importing it makes some 32 MB resident and its
first operations about 25 MB more, a fifth of the kiosk's 250 MB budget. MJPEG frames
(a USB camera's, an AVI's), YUYV frames and still images are decoded by Pillow
(``frames``, :func:`read_image`), and the decode path works with Pillow and NumPy
(:mod:`kiosk.qr_decode`), so a kiosk with a USB camera never loads OpenCV at all.

File sources can be paced (``realtime=True``) at the recording's frame rate, so that a
scanner behind them drops frames exactly as it would behind a live camera; unpaced,
they deliver frames as fast as they can be read.

A source that cannot be opened or stops delivering raises :class:`CameraError`, whose
message says what to check.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.camera.base import Camera, CameraError, Frame
from kiosk.camera.device import DeviceCamera
from kiosk.camera.files import (
    IMAGE_SUFFIXES,
    MAX_IMAGE_PIXELS,
    ImageFolderCamera,
    VideoFileCamera,
    read_image,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "Camera",
    "CameraError",
    "DeviceCamera",
    "Frame",
    "ImageFolderCamera",
    "VideoFileCamera",
    "open_camera",
    "read_image",
]


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
