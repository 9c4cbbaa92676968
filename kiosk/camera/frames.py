"""Camera frames from the bytes a camera or a recording holds, without OpenCV.

A USB camera (UVC) delivers Motion-JPEG or packed YUYV over V4L2, and an MJPG AVI holds
the same JPEG frames one after another. Pillow decodes both to the BGR arrays the
scanner reads (:func:`bgr_from_jpeg`, :func:`bgr_from_yuyv`), so the kiosk's capture
needs no OpenCV (``docs/decisions.md``, "Camera capture").

:class:`MjpegAvi` indexes the video frames of an MJPG AVI: a RIFF file whose ``movi``
list holds one ``##dc`` chunk a frame, continued in ``AVIX`` parts past 1 GB (OpenDML).
A recording cut off mid-write still plays up to its last whole frame.
"""

from __future__ import annotations

import io
import struct
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

#: the AVI codes of Motion-JPEG video (``strf``'s compression, ``strh``'s handler)
MJPEG_CODES = frozenset({b"MJPG", b"mjpg", b"JPEG", b"jpeg", b"AVRn", b"dmb1"})
#: the most pixels of one camera frame decoded (4K is 8.3 million): a frame claiming
#: more is refused from its header, before it is decoded
MAX_FRAME_PIXELS = 16_000_000
#: lists inside ``movi`` followed this deep (a recorder nests one level, ``rec ``); a
#: file nesting thousands would otherwise exhaust the stack
MAX_LIST_DEPTH = 4


def bgr_of(im: Image.Image) -> np.ndarray:
    """A Pillow image as an H×W×3 BGR ``uint8`` array of its own (writable, as
    OpenCV's are). Pillow's packer swaps the channels in one pass: 0.2 ms for 640×480,
    where reversing them in NumPy took 0.9 ms, as long as the JPEG decode itself."""
    rgb = im if im.mode == "RGB" else im.convert("RGB")
    data = bytearray(rgb.tobytes("raw", "BGR"))
    return np.frombuffer(data, np.uint8).reshape(rgb.height, rgb.width, 3)


def bgr_from_jpeg(data: bytes | memoryview) -> np.ndarray | None:
    """One (M)JPEG frame as a BGR array; None when it does not decode (a frame torn in
    transfer, a chunk that is no JPEG). The MJPEG of many USB cameras leaves out the
    Huffman tables, which are then the standard's; libjpeg-turbo, Pillow's decoder,
    assumes those itself (``tests/kiosk/test_camera_frames.py``)."""
    try:
        with Image.open(io.BytesIO(bytes(data))) as im:
            if im.format != "JPEG" or im.width * im.height > MAX_FRAME_PIXELS:
                return None
            im.load()
            return bgr_of(im)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def bgr_from_yuyv(
    data: bytes | memoryview, width: int, height: int, stride: int | None = None
) -> np.ndarray | None:
    """A packed YUYV (YUY2) frame, two bytes a pixel (Y0 U Y1 V), as a BGR array;
    ``stride`` is the bytes from one row to the next (a driver may pad rows). None when
    ``data`` is shorter than the frame."""
    stride = stride or width * 2
    if width <= 0 or height <= 0 or width % 2 or stride < width * 2:
        return None
    if len(data) < stride * (height - 1) + width * 2:
        return None
    flat = np.frombuffer(data, np.uint8, count=min(len(data), stride * height))
    if len(flat) < stride * height:  # the last row unpadded
        flat = np.concatenate([flat, np.zeros(stride * height - len(flat), np.uint8)])
    rows = flat.reshape(height, stride)[:, : width * 2]
    quads = rows.reshape(height, width // 2, 4)
    ycc = np.empty((height, width, 3), np.uint8)
    ycc[:, :, 0] = quads[:, :, [0, 2]].reshape(height, width)
    ycc[:, :, 1] = np.repeat(quads[:, :, 1], 2, axis=1)
    ycc[:, :, 2] = np.repeat(quads[:, :, 3], 2, axis=1)
    return bgr_of(Image.frombuffer("YCbCr", (width, height), ycc, "raw", "YCbCr", 0, 1))


@dataclass(frozen=True, slots=True)
class AviInfo:
    codec: bytes
    """The video stream's compression code (``MJPG`` …)."""
    fps: float | None
    width: int
    height: int


class NotMjpegAvi(ValueError):
    """The file is no AVI, or its video is not Motion-JPEG."""


class MjpegAvi:
    """The frames of an MJPG AVI, by number; ``frame(i)`` reads one frame's JPEG."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: BinaryIO = self.path.open("rb")
        self._size = self.path.stat().st_size
        try:
            self.info, stream = self._headers()
            if self.info.codec not in MJPEG_CODES:
                raise NotMjpegAvi(f"its video is {self.info.codec.decode('latin-1')!r}")
            self._offsets, self._sizes = array("Q"), array("I")
            self._index(b"%02ddc" % stream, b"%02ddb" % stream)
        except BaseException:
            self._fh.close()
            raise

    def __len__(self) -> int:
        return len(self._offsets)

    def frame(self, i: int) -> bytes:
        self._fh.seek(self._offsets[i])
        return self._fh.read(self._sizes[i])

    def close(self) -> None:
        self._fh.close()

    # -- parsing -----------------------------------------------------------------------

    def _chunks(self, start: int, end: int):
        """(id, data offset, size) of the chunks in [start, end), until one runs past
        the file's end (a recording cut off mid-write)."""
        fh, pos, size_of_file = self._fh, start, self._size
        end = min(end, size_of_file)
        while pos + 8 <= end:
            fh.seek(pos)
            head = fh.read(8)
            if len(head) < 8:
                return
            cid, size = head[:4], struct.unpack("<I", head[4:])[0]
            if pos + 8 + size > size_of_file:
                if cid not in (b"RIFF", b"LIST"):
                    return
                size = size_of_file - pos - 8  # a container cut off: what it holds
            yield cid, pos + 8, size
            pos += 8 + size + (size & 1)

    def _lists(self, start: int, end: int, kind: bytes):
        """The (data offset, size) of each ``LIST`` of ``kind`` in [start, end)."""
        for cid, at, size in self._chunks(start, end):
            if cid == b"LIST" and size >= 4:
                self._fh.seek(at)
                if self._fh.read(4) == kind:
                    yield at + 4, size - 4

    def _headers(self) -> tuple[AviInfo, int]:
        fh = self._fh
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"AVI ":
            raise NotMjpegAvi("it is no AVI")
        riff_end = 8 + struct.unpack("<I", head[4:8])[0]
        for hdrl, hsize in self._lists(12, riff_end, b"hdrl"):
            micro = 0
            for cid, at, size in self._chunks(hdrl, hdrl + hsize):
                if cid == b"avih" and size >= 4:
                    fh.seek(at)
                    micro = struct.unpack("<I", fh.read(4))[0]
            for stream, (strl, ssize) in enumerate(self._lists(hdrl, hdrl + hsize, b"strl")):
                found = self._stream(strl, ssize, micro)
                if found is not None:
                    return found, stream
        raise NotMjpegAvi("it holds no video stream")

    def _stream(self, strl: int, ssize: int, micro: int) -> AviInfo | None:
        fh = self._fh
        handler = codec = b""
        fps: float | None = 1e6 / micro if micro else None
        width = height = 0
        for cid, at, size in self._chunks(strl, strl + ssize):
            fh.seek(at)
            body = fh.read(min(size, 64))
            if cid == b"strh" and len(body) >= 28:
                if body[:4] != b"vids":
                    return None
                handler = body[4:8]
                scale, rate = struct.unpack("<II", body[20:28])
                if scale and rate:
                    fps = rate / scale
            elif cid == b"strf" and len(body) >= 20:
                width, height = struct.unpack("<ii", body[4:12])
                codec = body[16:20]
        if not handler and not codec:
            return None
        return AviInfo(codec if codec.strip(b"\0 ") else handler, fps, width, abs(height))

    def _index(self, *ids: bytes) -> None:
        """Every video frame of every ``movi`` list, in the RIFF part and the ``AVIX``
        parts after it; empty chunks (a frame the recorder dropped) are left out."""
        for cid, at, size in self._chunks(0, self._size):
            if cid == b"RIFF":
                for movi, msize in self._lists(at + 4, at + size, b"movi"):
                    self._frames(movi, movi + msize, ids)

    def _frames(self, start: int, end: int, ids: tuple[bytes, ...], depth: int = 0) -> None:
        for cid, at, size in self._chunks(start, end):
            if cid in ids and size:
                self._offsets.append(at)
                self._sizes.append(size)
            elif cid == b"LIST" and depth < MAX_LIST_DEPTH:  # 'rec ' groups
                self._frames(at + 4, at + size, ids, depth + 1)
