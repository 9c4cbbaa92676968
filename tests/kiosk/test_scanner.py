"""The scanner loop on file sources: one report per code in view, frames skipped rather
than queued, and a decoder or callback that raises never stops it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.camera import CameraError, ImageFolderCamera, VideoFileCamera
from kiosk.qr_decode import Decoded, decode_frame
from kiosk.scanner import Scanner, ScanResult
from tests.support import REPO_ROOT
from tests.support.qr_distort import make_sample
from tests.support.waiting import wait_for

FPS = 60.0


def _clip(segments: list[tuple[np.ndarray | None, int]], seed: int = 0) -> Iterator[np.ndarray]:
    """Frames of each segment's scene (None: an empty counter), each with fresh grain
    so that no two frames are the same."""
    rng = np.random.default_rng(seed)
    empty = make_sample("empty", 900).image
    for scene, count in segments:
        for _ in range(count):
            base = empty if scene is None else scene
            grain = rng.normal(0, 3, base.shape[:2])[..., None]
            yield np.clip(base + grain, 0, 255).astype(np.uint8)


def _collect(scanner_kwargs: dict, camera) -> tuple[Scanner, list[ScanResult]]:
    got: list[ScanResult] = []
    scanner = Scanner(camera, on_result=got.append, **scanner_kwargs)
    with scanner:
        assert scanner.wait_finished(60), "the scanner did not finish the clip"
    return scanner, got


def test_each_code_reported_once_while_in_view_and_again_after_leaving(video_of, logged_errors):
    a, b = make_sample("perspective", 31), make_sample("rotation", 32)
    # 60 fps: a code in view for 0.4 s, out of view for 0.6 s (> forget_after)
    segments = [(None, 10), (a.image, 24), (None, 36), (b.image, 24), (None, 36), (a.image, 24)]
    path = video_of(_clip([*segments, (None, 6)]), fps=FPS)
    calls = {"n": 0, "raised_on_code": False}

    def flaky(image: np.ndarray) -> Decoded:
        # fails on the first frame, and on the first frame that holds a code: the
        # loop must carry on and report that code from a later frame
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("injected: first frame")
        decoded = decode_frame(image)
        if decoded.texts and not calls["raised_on_code"]:
            calls["raised_on_code"] = True
            raise RuntimeError("injected: a frame with a code")
        return decoded

    cam = VideoFileCamera(path, realtime=True)
    scanner, got = _collect({"decoder": flaky, "max_decode_rate": 30, "forget_after": 0.3}, cam)
    assert scanner.error is None
    assert [r.text for r in got] == [a.text, b.text, a.text]
    # each report comes from a frame inside its segment
    starts = np.cumsum([0] + [n for _, n in segments])
    for r, seg in zip(got, (1, 3, 5), strict=True):
        assert starts[seg] <= r.frame_index < starts[seg + 1], (r, starts)
    assert [r.frame_ts for r in got] == sorted(r.frame_ts for r in got)
    assert scanner.stats.decode_errors == {"ValueError": 1, "RuntimeError": 1}
    assert scanner.stats.reported == 3
    # one traceback per kind, and the loop went on after both
    assert sorted(r.exc_info[0].__name__ for r in logged_errors) == ["RuntimeError", "ValueError"]
    assert scanner.stats.frames_decoded > 20
    assert not cam.is_open


def test_a_code_missed_for_a_frame_or_two_is_not_reported_twice(video_of):
    a = make_sample("clean", 33)
    # the code vanishes for 6 frames (0.1 s at 60 fps): much less than forget_after
    path = video_of(_clip([(a.image, 20), (None, 6), (a.image, 20)]), fps=FPS)
    _, got = _collect(
        {"max_decode_rate": 60, "forget_after": 1.0}, VideoFileCamera(path, realtime=True)
    )
    assert [r.text for r in got] == [a.text]
    assert got[0].via == "zxing" and got[0].decode_ms > 0


def _binary_frame(i: int) -> np.ndarray:
    """Frame ``i`` with its number in 8 black or white 64-pixel blocks: survives MJPG."""
    img = np.full((480, 640, 3), 128, np.uint8)
    for bit in range(8):
        img[0:64, bit * 80 : bit * 80 + 64] = 255 if i >> bit & 1 else 0
    return img


def _frame_number(img: np.ndarray) -> int:
    return sum(1 << bit for bit in range(8) if img[32, bit * 80 + 32, 0] > 128)


def test_a_slow_decoder_skips_frames_instead_of_queueing_them(video_of):
    n = 120
    path = video_of((_binary_frame(i) for i in range(n)), fps=FPS)
    seen: list[int] = []

    def slow(image: np.ndarray) -> Decoded:
        seen.append(_frame_number(image))
        time.sleep(0.02)  # a decoder slower than the source: what is being tested
        return decode_frame(image)

    scanner, got = _collect({"decoder": slow, "max_decode_rate": 1000}, VideoFileCamera(path))
    st = scanner.stats
    assert got == [] and st.frames_read == n
    assert st.frames_decoded == len(seen) < n and st.frames_skipped > 0
    # every frame was either decoded or replaced by a newer one: nothing is queued
    assert st.frames_decoded + st.frames_skipped == n
    # always the newest frame: in order, and the last one is never skipped
    assert seen == sorted(set(seen)) and seen[-1] == n - 1


def test_decodes_at_most_max_decode_rate(video_of):
    path = video_of(_clip([(None, 60)]), fps=FPS)
    calls: list[float] = []

    def counted(image: np.ndarray) -> Decoded:
        calls.append(time.monotonic())
        return decode_frame(image)

    scanner, _ = _collect(
        {"decoder": counted, "max_decode_rate": 10}, VideoFileCamera(path, realtime=True)
    )
    gaps = np.diff(calls)
    assert len(calls) >= 5 and scanner.stats.frames_skipped >= 60 - len(calls) - 1
    # start to start, never closer than 1/10 s (a little slack for the clock)
    assert gaps.min() >= 0.1 - 0.005, gaps


def test_results_go_to_the_queue_without_a_callback(tmp_path):
    a = make_sample("glare", 34)
    folder = tmp_path / "stills"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), a.image)
    scanner = Scanner(ImageFolderCamera(folder), max_decode_rate=1000).start()
    try:
        assert scanner.results.get(timeout=30).text == a.text
        assert scanner.wait_finished(30)
    finally:
        scanner.stop()
    assert scanner.results.empty()


def test_a_callback_that_raises_does_not_stop_the_loop(video_of, logged_errors):
    a, b = make_sample("clean", 35), make_sample("clean", 36)
    path = video_of(_clip([(a.image, 12), (None, 30), (b.image, 12)]), fps=FPS)
    delivered: list[str] = []

    def ui(result: ScanResult) -> None:
        delivered.append(result.text)
        raise KeyError("a screen that is not there")

    scanner = Scanner(
        VideoFileCamera(path, realtime=True), ui, max_decode_rate=60, forget_after=0.2
    )
    with scanner:
        assert scanner.wait_finished(60)
    assert delivered == [a.text, b.text]
    assert scanner.stats.callback_errors == {"KeyError": 2}
    assert len(logged_errors) == 1


def test_a_failing_camera_stops_the_scanner_with_its_error(tmp_path, caplog):
    folder = tmp_path / "stills"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), make_sample("empty", i).image)
    (folder / "3.png").write_bytes(b"truncated")
    scanner = Scanner(ImageFolderCamera(folder), max_decode_rate=1000)
    with scanner:
        assert scanner.wait_finished(30)
    assert isinstance(scanner.error, CameraError) and "3.png" in str(scanner.error)
    assert scanner.stats.frames_read == 3
    assert "scanning stopped" in caplog.text


def test_a_missing_source_fails_at_start_in_the_callers_thread(tmp_path):
    with pytest.raises(CameraError, match="does not exist"):
        Scanner(VideoFileCamera(tmp_path / "none.avi")).start()


def test_stop_ends_an_endless_source_promptly(tmp_path):
    folder = tmp_path / "stills"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), make_sample("empty", 1).image)
    cam = ImageFolderCamera(folder, loop=True)
    scanner = Scanner(cam, max_decode_rate=50).start()
    wait_for(lambda: scanner.stats.frames_decoded >= 3, 30, message="a few decodes")
    t0 = time.monotonic()
    scanner.stop()
    assert time.monotonic() - t0 < 2 and scanner.finished.is_set() and not cam.is_open
    assert not [t for t in threading.enumerate() if t.name.startswith("qr-")]


def test_kiosk_scanning_imports_no_network_or_gui_library():
    code = (
        "import sys, kiosk.camera, kiosk.scanner, kiosk.qr_decode, kiosk.decode_cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'paho', 'requests', 'httpx', 'urllib3', 'kivy'})\n"
        "print(','.join(bad))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_module_sources_stay_small():
    files = [REPO_ROOT / "kiosk" / f"{n}.py" for n in ("scanner", "qr_decode", "decode_cli")]
    files += sorted((REPO_ROOT / "kiosk" / "camera").glob("*.py"))
    assert len(files) >= 7
    for path in files:
        lines = path.read_text().count("\n")
        assert lines < 400, (path.name, lines)


def test_scanner_refuses_a_zero_rate():
    with pytest.raises(ValueError, match="max_decode_rate"):
        Scanner(ImageFolderCamera(Path(".")), max_decode_rate=0)
