"""Frames without OpenCV: MJPG AVIs read by ``kiosk.camera.frames``, the MJPEG of USB
cameras (Huffman tables left out), packed YUYV, and the device camera's format choice."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from kiosk.camera import CameraError, DeviceCamera, VideoFileCamera
from kiosk.camera.device import choose_format, fourcc
from kiosk.camera.frames import (
    MjpegAvi,
    NotMjpegAvi,
    bgr_from_jpeg,
    bgr_from_yuyv,
)
from kiosk.qr_decode import decode_frame
from tests.kiosk.conftest import numbered_frame
from tests.support.qr_distort import make_sample


def _opencv_frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        out.append(image)
    cap.release()
    return out


def test_an_mjpg_avi_plays_the_frames_opencv_reads_from_it(video_of):
    sample = make_sample("clean", 5)
    frames = [numbered_frame(i) for i in range(8)] + [sample.image] * 2
    path = video_of(frames, fps=24.0)
    with VideoFileCamera(path) as cam:
        assert cam.backend == "mjpeg" and cam.fps == pytest.approx(24.0)
        ours = []
        while (f := cam.read()) is not None:
            ours.append(f.image)
    theirs = _opencv_frames(path)
    assert len(ours) == len(theirs) == 10
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape == (480, 640, 3) and a.dtype == np.uint8
        # the same JPEG through two decoders: within a level or two (IDCT rounding)
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.5
    assert [round(float(f.mean()) / 8) for f in ours[:8]] == list(range(8))
    assert decode_frame(ours[-1]).texts == (sample.text,)


def test_a_recording_cut_off_mid_write_plays_to_its_last_whole_frame(video_of):
    path = video_of([numbered_frame(i) for i in range(6)])
    avi = MjpegAvi(path)
    ends = [avi._offsets[i] + avi._sizes[i] for i in range(len(avi))]
    avi.close()
    cut = path.with_name("cut.avi")
    cut.write_bytes(path.read_bytes()[: ends[3] + 100])  # into the fifth frame's chunk
    with VideoFileCamera(cut) as cam:
        assert cam.backend == "mjpeg"
        got = [round(float(f.image.mean()) / 8) for f in iter(cam.read, None)]
    assert got == [0, 1, 2, 3]


def test_a_damaged_frame_says_the_recording_is_damaged(video_of):
    path = video_of([numbered_frame(i) for i in range(3)])
    avi = MjpegAvi(path)
    at, size = avi._offsets[1], avi._sizes[1]
    avi.close()
    data = bytearray(path.read_bytes())
    data[at : at + size] = b"\x00" * size  # the second frame's JPEG zeroed
    path.write_bytes(bytes(data))
    with VideoFileCamera(path) as cam:
        assert cam.read() is not None
        with pytest.raises(CameraError, match=r"frame 2 of 3 in video file .* damaged"):
            cam.read()


def test_an_avi_without_frames_says_it_is_empty(video_of):
    path = video_of([])
    with pytest.raises(CameraError, match="holds no frame"):
        VideoFileCamera(path).open()


def test_other_videos_and_riff_files_are_not_taken_for_mjpeg(tmp_path, video_of):
    mp4 = video_of([numbered_frame(i) for i in range(3)], name="clip.mp4")
    with pytest.raises(NotMjpegAvi, match="no AVI"):
        MjpegAvi(mp4)
    with VideoFileCamera(mp4) as cam:
        assert cam.backend == "opencv" and cam.read() is not None
    wav = tmp_path / "sound.avi"  # a RIFF file, but WAVE
    wav.write_bytes(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + b"\0" * 28)
    with pytest.raises(NotMjpegAvi):
        MjpegAvi(wav)
    with pytest.raises(CameraError, match=r"cannot be read as video|holds no frame"):
        cam = VideoFileCamera(wav)
        cam.open()
        cam.read()


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _without_dht(data: bytes) -> bytes:
    """``data`` with its DHT segments taken out, as a UVC camera's MJPEG frame is."""
    out, i = bytearray(data[:2]), 2
    while data[i] == 0xFF and data[i + 1] != 0xDA:
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if data[i + 1] != 0xC4:
            out += data[i : i + 2 + length]
        i += 2 + length
    return bytes(out + data[i:])


def test_mjpeg_frames_without_huffman_tables_decode_like_the_full_jpeg():
    sample = make_sample("clean", 9)
    whole = _jpeg(Image.fromarray(sample.image[:, :, ::-1]))
    bare = _without_dht(whole)
    assert b"\xff\xc4" in whole and b"\xff\xc4" not in bare[: bare.index(b"\xff\xda")]
    fixed = bgr_from_jpeg(bare)  # libjpeg-turbo supplies the standard tables
    assert fixed is not None
    np.testing.assert_array_equal(fixed, bgr_from_jpeg(whole))
    assert decode_frame(fixed).texts == (sample.text,)


def test_bgr_from_jpeg_gives_none_for_what_is_no_jpeg():
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    whole = _jpeg(Image.new("RGB", (64, 48), (90, 90, 90)))
    for data in (b"", b"\xff\xd8\xff", b"not a jpeg at all", png.getvalue(), whole[:-200]):
        assert bgr_from_jpeg(data) is None, data[:12]
    assert bgr_from_jpeg(whole) is not None


def test_a_frame_claiming_too_many_pixels_is_refused_before_it_is_decoded():
    # 8000×4000 in a JPEG of a few kB: 96 MB of BGR if decoded
    big = _jpeg(Image.new("L", (8000, 4000)))
    assert len(big) < 1_000_000
    assert bgr_from_jpeg(big) is None


def test_yuyv_frames_become_the_colours_they_carry():
    w, h = 64, 48
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (200, 30, 40)  # red left half, blue right half
    rgb[:, w // 2 :] = (20, 40, 210)
    ycc = np.asarray(Image.fromarray(rgb).convert("YCbCr"))
    packed = np.empty((h, w // 2, 4), np.uint8)
    packed[:, :, 0], packed[:, :, 2] = ycc[:, 0::2, 0], ycc[:, 1::2, 0]
    packed[:, :, 1], packed[:, :, 3] = ycc[:, 0::2, 1], ycc[:, 0::2, 2]
    bgr = bgr_from_yuyv(packed.tobytes(), w, h)
    assert bgr is not None and bgr.shape == (h, w, 3)
    assert np.abs(bgr[:, :, ::-1].astype(int) - rgb.astype(int)).max() <= 3
    # rows padded by the driver (stride) read the same
    padded = np.zeros((h, w * 2 + 32), np.uint8)
    padded[:, : w * 2] = packed.reshape(h, w * 2)
    again = bgr_from_yuyv(padded.tobytes(), w, h, stride=w * 2 + 32)
    np.testing.assert_array_equal(again, bgr)
    # a short buffer (a frame cut off) and an odd width are refused, not misread
    assert bgr_from_yuyv(packed.tobytes()[:-2], w, h) is None
    assert bgr_from_yuyv(packed.tobytes(), w - 1, h) is None


def test_the_device_camera_asks_for_mjpeg_then_yuyv():
    assert fourcc(0x47504A4D) == "MJPG" and fourcc(0x56595559) == "YUYV"
    assert choose_format(["YUYV", "MJPG", "H264"]) == "MJPG"
    assert choose_format(["H264", "YUYV"]) == "YUYV"
    assert choose_format(["H264", "GREY"]) is None
    assert choose_format([]) is None


def test_device_camera_backends():
    with pytest.raises(ValueError, match="one of auto, v4l2, opencv"):
        DeviceCamera(0, backend="gstreamer")
    for backend in ("v4l2", "opencv", "auto"):
        with pytest.raises(CameraError, match=r"camera 95 could not be opened.*/dev/video95"):
            DeviceCamera(95, backend=backend).open()


def test_lists_nested_deep_in_an_avi_are_not_followed_to_the_bottom(tmp_path, video_of):
    # a hostile file: 20,000 LISTs inside each other in movi, a frame at the bottom
    good = MjpegAvi(video_of([numbered_frame(1)]))
    frame = good.frame(0)
    head = good.path.read_bytes()[: good._offsets[0] - 8 - 12]  # up to movi's list
    good.close()
    inner = b"00dc" + struct.pack("<I", len(frame)) + frame + b"\0" * (len(frame) & 1)
    for _ in range(20_000):
        inner = b"LIST" + struct.pack("<I", len(inner) + 4) + b"rec " + inner
    movi = b"LIST" + struct.pack("<I", len(inner) + 4) + b"movi" + inner
    body = head[12:] + movi
    path = tmp_path / "deep.avi"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + 4) + b"AVI " + body)
    with pytest.raises(CameraError, match="holds no frame"):
        VideoFileCamera(path).open()
