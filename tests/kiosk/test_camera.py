"""Camera sources: image folders, video files and devices behind one interface."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode
from PIL import Image

from kiosk.camera import (
    MAX_IMAGE_PIXELS,
    Camera,
    CameraError,
    DeviceCamera,
    ImageFolderCamera,
    VideoFileCamera,
    open_camera,
    read_image,
)
from kiosk.qr_decode import decode_frame
from tests.kiosk.conftest import numbered_frame, write_video
from tests.support import REPO_ROOT
from tests.support.qr_distort import make_sample

EXIF_ORIENTATION = 0x0112


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
    (folder / "c.png").write_bytes(_truncated_png(tmp_path))
    (folder / "d.jpg").write_text("a text file named like a photo\n")
    with ImageFolderCamera(folder) as cam:
        assert cam.read() is not None
        # each unreadable file is named, and the folder moves on past it
        for name in ("b.png", "c.png", "d.jpg"):
            pattern = rf"{re.escape(name)} .* not an image the kiosk can read"
            with pytest.raises(CameraError, match=pattern):
                cam.read()
        assert cam.read() is None


def _truncated_png(tmp_path: Path) -> bytes:
    """The first half of a valid PNG: its header opens, its pixels do not decode."""
    whole = tmp_path / "whole.png"
    cv2.imwrite(str(whole), np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8))
    data = whole.read_bytes()
    return data[: len(data) // 2]


def _jpeg_with_orientation(path: Path, rgb: np.ndarray, orientation: int) -> None:
    """``rgb`` stored as it is, with the EXIF tag that tells a viewer how to turn it."""
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[EXIF_ORIENTATION] = orientation
    img.save(path, quality=95, exif=exif)


def _marked(h: int = 200, w: int = 300) -> np.ndarray:
    """An h×w RGB grey image with a pure red 40×40 block in its top-left corner."""
    rgb = np.full((h, w, 3), 128, np.uint8)
    rgb[:40, :40] = (255, 0, 0)
    return rgb


def _corners(bgr: np.ndarray) -> dict[str, np.ndarray]:
    """The mean BGR colour of each 20×20 corner (inside the marker when it is there)."""
    c = 20
    return {
        "top-left": bgr[:c, :c].mean(axis=(0, 1)),
        "top-right": bgr[:c, -c:].mean(axis=(0, 1)),
        "bottom-left": bgr[-c:, :c].mean(axis=(0, 1)),
        "bottom-right": bgr[-c:, -c:].mean(axis=(0, 1)),
    }


@pytest.mark.parametrize(
    ("orientation", "marker_at"),
    # EXIF 6: stored row 0 is the picture's right side, column 0 its top, so the
    # stored top-left pixel belongs at the top right; 8: row 0 is the left side and
    # column 0 the bottom, so it belongs at the bottom left.
    [(1, "top-left"), (6, "top-right"), (8, "bottom-left")],
)
def test_read_image_turns_a_photo_upright_by_its_exif_orientation(tmp_path, orientation, marker_at):
    path = tmp_path / "photo.jpg"
    _jpeg_with_orientation(path, _marked(), orientation)
    bgr = read_image(path)
    assert bgr is not None and bgr.dtype == np.uint8 and bgr.flags.c_contiguous
    assert bgr.shape == ((200, 300, 3) if orientation == 1 else (300, 200, 3))
    for corner, (b, g, r) in _corners(bgr).items():
        if corner == marker_at:
            # red in the file is red in a BGR frame: channel 2
            assert r > 230 and g < 25 and b < 25, (corner, b, g, r)
        else:
            assert abs(r - 128) < 10 and abs(g - 128) < 10, (corner, b, g, r)


def test_a_code_photographed_sideways_reads_after_read_image(tmp_path):
    text = "HTTPS://SHOP.EXAMPLE-RETAILER.COM/Q/SIDEWAYS234567"
    code = np.asarray(qrcode.make(text, box_size=6, border=4).convert("RGB"))
    upright = np.full((480, 640, 3), 200, np.uint8)
    h, w = code.shape[:2]
    upright[40 : 40 + h, 60 : 60 + w] = code
    # A camera held sideways stores the scene turned a quarter counter-clockwise and
    # tags it 6, "turn me clockwise to view".
    stored = np.ascontiguousarray(np.rot90(upright))
    assert stored.shape == (640, 480, 3)
    path = tmp_path / "sideways.jpg"
    _jpeg_with_orientation(path, stored, 6)
    bgr = read_image(path)
    assert bgr is not None and bgr.shape == (480, 640, 3)
    # what the kiosk sees is the upright scene, to within JPEG's losses
    assert np.abs(bgr.astype(int) - upright[:, :, ::-1]).mean() < 4
    assert decode_frame(bgr).texts == (text,)


def test_read_image_gives_none_for_what_is_not_an_image(tmp_path):
    (tmp_path / "truncated.png").write_bytes(_truncated_png(tmp_path))
    (tmp_path / "notes.png").write_text("a text file, whatever its name says\n")
    (tmp_path / "folder.png").mkdir()
    assert read_image(tmp_path / "whole.png") is not None, "the untruncated PNG reads"
    for name in ("missing.png", "folder.png", "truncated.png", "notes.png"):
        assert read_image(tmp_path / name) is None, name
    assert read_image(str(tmp_path / "missing.png")) is None


_READ_ONE_FRAME = """
import json, sys
from kiosk.camera import ImageFolderCamera, VideoFileCamera
from kiosk.qr_decode import decode_frame
cls = {"folder": ImageFolderCamera, "video": VideoFileCamera}[sys.argv[1]]
with cls(sys.argv[2]) as cam:
    frame = cam.read()
texts = list(decode_frame(frame.image).texts)
print(json.dumps({"texts": texts, "cv2": "cv2" in sys.modules}))
"""


def _read_one_frame_in_a_fresh_python(kind: str, path: Path) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", _READ_ONE_FRAME, kind, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def test_an_image_folder_camera_and_the_decode_path_never_import_opencv(tmp_path):
    # OpenCV costs the kiosk ~32 MB resident on import and ~25 MB more on first use;
    # only the capture sources may load it. The video run shows that the probe
    # would see it if it were loaded.
    sample = make_sample("clean", 11)
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "code.png"), sample.image)
    got = _read_one_frame_in_a_fresh_python("folder", folder)
    assert got == {"texts": [sample.text], "cv2": False}

    # an MJPG AVI is read as a USB camera's MJPEG is, by Pillow
    video = tmp_path / "code.avi"
    write_video(video, [sample.image] * 3)
    got = _read_one_frame_in_a_fresh_python("video", video)
    assert got == {"texts": [sample.text], "cv2": False}

    # any other video goes through OpenCV: the probe sees it loaded
    video = tmp_path / "code.mp4"
    write_video(video, [sample.image] * 3)
    got = _read_one_frame_in_a_fresh_python("video", video)
    assert got == {"texts": [sample.text], "cv2": True}


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


def test_read_image_refuses_an_image_too_large_from_its_header(tmp_path):
    # 100 megapixels in one bit each: a small file that would decode to 300 MB of BGR
    Image.new("1", (10_000, 10_000)).save(tmp_path / "huge.png")
    assert (tmp_path / "huge.png").stat().st_size < 1_000_000
    assert MAX_IMAGE_PIXELS < 10_000 * 10_000
    assert read_image(tmp_path / "huge.png") is None
    Image.new("1", (4000, 3000)).save(tmp_path / "photo.png")  # 12 MP: read
    image = read_image(tmp_path / "photo.png")
    assert image is not None and image.shape == (3000, 4000, 3)
