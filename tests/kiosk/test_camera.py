"""Camera sources: image folders, video files and devices behind one interface."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.camera import (
    Camera,
    CameraError,
    DeviceCamera,
    ImageFolderCamera,
    VideoFileCamera,
    open_camera,
)
from tests.kiosk.conftest import numbered_frame


def _folder(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), numbered_frame(i))
    return folder


def _drain(cam: Camera, limit: int = 1000) -> list:
    frames = []
    while len(frames) < limit and (f := cam.read()) is not None:
        frames.append(f)
    return frames


def test_folder_plays_images_in_name_order_as_bgr_frames(tmp_path):
    # written in the order b, a, c: brightness 0, 8, 16
    folder = _folder(tmp_path, ["b.png", "a.png", "c.png"])
    (folder / "notes.txt").write_text("not an image")
    grey = np.full((480, 640), 200, np.uint8)
    cv2.imwrite(str(folder / "d.png"), grey)
    with ImageFolderCamera(folder) as cam:
        assert [p.name for p in cam.files] == ["a.png", "b.png", "c.png", "d.png"]
        frames = _drain(cam)
    assert [int(f.image[0, 0, 0]) for f in frames] == [8, 0, 16, 200]
    assert all(f.image.shape == (480, 640, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(frames))
    assert not cam.is_open


def test_folder_loops_when_asked(tmp_path):
    folder = _folder(tmp_path, ["1.png", "2.png"])
    with ImageFolderCamera(folder, loop=True) as cam:
        frames = [cam.read() for _ in range(5)]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 8, 0, 8, 0]
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]


def test_folder_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(CameraError, match="does not exist"):
        ImageFolderCamera(tmp_path / "nope").open()
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(CameraError, match="is a file, not a folder"):
        ImageFolderCamera(tmp_path / "file.png").open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(CameraError, match=r"holds no images \(looked for .png"):
        ImageFolderCamera(tmp_path / "empty").open()
    folder = _folder(tmp_path, ["a.png"])
    (folder / "b.png").write_bytes(b"garbage, not a PNG")
    with ImageFolderCamera(folder) as cam:
        assert cam.read() is not None
        with pytest.raises(CameraError, match=r"b\.png .* not an image the kiosk can read"):
            cam.read()


def test_read_needs_an_open_source(tmp_path):
    cam = ImageFolderCamera(_folder(tmp_path, ["a.png"]))
    with pytest.raises(CameraError, match="before open"):
        cam.read()
    cam.open()
    cam.close()
    cam.close()  # closing twice is harmless
    with pytest.raises(CameraError, match="after close"):
        cam.read()


@pytest.mark.parametrize("name", ["clip.avi", "clip.mp4"])
def test_video_file_gives_every_frame_then_none(video_of, name):
    path = video_of((numbered_frame(i) for i in range(12)), name=name)
    with VideoFileCamera(path) as cam:
        assert cam.fps == pytest.approx(30.0)
        frames = _drain(cam)
        assert cam.read() is None
    assert len(frames) == 12
    # lossy codecs: the brightness survives to within a few levels
    assert [round(float(f.image.mean()) / 8) for f in frames] == list(range(12))
    assert all(f.image.shape == (480, 640, 3) for f in frames)


def test_video_file_loops_and_paces_at_its_frame_rate(video_of):
    path = video_of((numbered_frame(i) for i in range(6)), fps=60.0)
    with VideoFileCamera(path, loop=True, realtime=True) as cam:
        t0 = time.monotonic()
        frames = [cam.read() for _ in range(15)]
        took = time.monotonic() - t0
    assert [round(float(f.image.mean()) / 8) for f in frames] == [i % 6 for i in range(15)]
    # frame n is handed out no earlier than n/60 s after the first
    assert took >= 14 / 60 - 0.005
    assert frames[-1].ts - frames[0].ts >= 14 / 60 - 0.005


def test_video_file_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(CameraError, match=r"clip\.avi does not exist: give the path of a video"):
        VideoFileCamera(tmp_path / "clip.avi").open()
    with pytest.raises(CameraError, match="is a directory"):
        VideoFileCamera(tmp_path).open()
    bad = tmp_path / "notes.avi"
    bad.write_text("this is not a video\n" * 100)
    with pytest.raises(CameraError, match=r"cannot be read as video|holds no frame"):
        cam = VideoFileCamera(bad)
        cam.open()
        cam.read()


def test_missing_device_says_what_to_check():
    cam = DeviceCamera(97)
    with pytest.raises(CameraError) as err:
        cam.open()
    msg = str(err.value)
    assert "camera 97 could not be opened" in msg and "/dev/video97" in msg
    assert "'video'" in msg and "video file or an image folder" in msg
    assert not cam.is_open


def test_open_camera_picks_the_source_from_its_name(tmp_path, video_of):
    folder = _folder(tmp_path, ["a.png"])
    cam = open_camera(str(folder))
    assert isinstance(cam, ImageFolderCamera) and cam.is_open
    cam.close()
    cam = open_camera(str(video_of(numbered_frame(i) for i in range(2))))
    assert isinstance(cam, VideoFileCamera) and cam.read() is not None
    cam.close()
    with pytest.raises(CameraError, match="camera 96 could not be opened"):
        open_camera("96")
    with pytest.raises(CameraError, match="does not exist"):
        open_camera(str(tmp_path / "missing.mp4"))
