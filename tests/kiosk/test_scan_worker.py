"""The scan screen's worker, without Kivy: a real file camera, the real decoder; the UI
thread is the test's, fed through the same kind of schedule function Kivy's Clock is."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from central_api.codes.qr_image import png, symbol
from kiosk.camera import DeviceCamera, ImageFolderCamera, VideoFileCamera
from kiosk.scan_worker import ScanWorker, StillImageCamera, camera_for

CODE = "HTTPS://SHOP.EXAMPLE.COM/Q/" + "A" * 60


class Ui:
    """A UI thread: callbacks scheduled from any thread run in ``pump`` (the test's)."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()
        self.frames: list = []
        self.codes: list = []
        self.errors: list[str] = []
        self.threads: set[str] = set()

    def schedule(self, fn) -> None:
        self.calls.put(fn)

    def pump(self, until, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("gave up waiting")
            try:
                fn = self.calls.get(timeout=0.05)
            except queue.Empty:
                continue
            fn(0.0)

    def worker(self, setting: str) -> ScanWorker:
        def frame(f) -> None:
            self.threads.add(threading.current_thread().name)
            self.frames.append(f)

        return ScanWorker(setting, self.schedule, frame, self.codes.append, self.errors.append)


def _folder(tmp_path: Path, with_code: bool = True) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    blank = np.full((480, 640, 3), 120, np.uint8)
    held = blank.copy()
    grey = cv2.imdecode(np.frombuffer(png(symbol(CODE), module_px=4), np.uint8), 0)
    h, w = grey.shape
    held[100 : 100 + h, 150 : 150 + w] = grey[..., None]
    for i in range(12):
        cv2.imwrite(str(folder / f"{i:03d}.png"), held if with_code and i >= 4 else blank)
    return folder


def test_frames_and_one_code_reach_the_ui_thread_and_stop_ends_them(tmp_path: Path):
    ui = Ui()
    w = ui.worker(f"file:{_folder(tmp_path)}").start()
    ui.pump(lambda: ui.codes and len(ui.frames) >= 5)
    assert [r.text for r in ui.codes] == [CODE]  # once while it stays in view
    assert ui.threads == {threading.current_thread().name}  # drawn on the UI thread
    assert ui.frames[0].image.shape == (480, 640, 3)
    w.stop()
    ui.pump(lambda: w.scanner is not None and w.scanner.finished.is_set(), 5)
    n = len(ui.frames)
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:  # anything still queued is dropped
        with contextlib.suppress(queue.Empty):
            ui.calls.get(timeout=0.05)(0.0)
    assert len(ui.frames) == n and not w.running
    with pytest.raises(RuntimeError):
        w.start()


def test_a_missing_camera_says_what_to_check(tmp_path: Path):
    ui = Ui()
    ui.worker(f"file:{tmp_path / 'nothing.avi'}").start()
    ui.pump(lambda: ui.errors)
    assert "does not exist" in ui.errors[0]
    ui2 = Ui()
    ui2.worker("none").start()
    ui2.pump(lambda: ui2.errors)
    assert "no camera configured" in ui2.errors[0]


def test_camera_for_names_each_source(tmp_path: Path):
    folder = _folder(tmp_path, with_code=False)
    assert camera_for("none") is None
    cams = camera_for("device:2"), camera_for("opencv:3")
    assert all(isinstance(c, DeviceCamera) for c in cams)
    assert [(c.index, c.backend) for c in cams] == [(2, "auto"), (3, "opencv")]
    assert isinstance(camera_for(f"file:{folder}"), ImageFolderCamera)
    assert isinstance(camera_for(f"file:{folder / '000.png'}"), StillImageCamera)
    assert isinstance(camera_for(f"file:{tmp_path / 'clip.avi'}"), VideoFileCamera)
    still = camera_for(f"file:{folder / '000.png'}")
    with still:
        a, b = still.read(), still.read()
    assert a.index == 0 and b.index == 1 and a.image.shape == (480, 640, 3)
