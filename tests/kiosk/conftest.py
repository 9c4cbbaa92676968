"""Helpers for the kiosk scanning tests: video files and image folders written in tmp_path."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> int:
    """Write ``frames`` (640×480 BGR) as an MJPG AVI or an MPEG-4 MP4; the frame count."""
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, (640, 480))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    n = 0
    try:
        for frame in frames:
            writer.write(frame)
            n += 1
    finally:
        writer.release()
    return n


def numbered_frame(i: int) -> np.ndarray:
    """A frame whose brightness says its number (i * 8 mod 256), to check order."""
    return np.full((480, 640, 3), (i * 8) % 256, np.uint8)


@pytest.fixture
def video_of(tmp_path: Path):
    def make(frames: Iterable[np.ndarray], name: str = "clip.avi", fps: float = 30.0) -> Path:
        path = tmp_path / name
        write_video(path, frames, fps)
        return path

    return make
