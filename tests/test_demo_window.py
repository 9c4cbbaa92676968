"""``make demo`` with a display: the kiosk opens in a window for a person, the demo
prints the code images to show its camera and the staff PIN, and when the window is
closed the demo says what central recorded and stops every process it started.

The display is an Xvfb of the test's own; "the person closes the window" is a SIGTERM
to the kiosk process, as a window manager's close ends the process too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import cv2

from kiosk.qr_decode import decode_frame
from tests.kiosk.ui.conftest import xvfb  # noqa: F401 - the fixture
from tests.support import REPO_ROOT
from tests.support.waiting import StopWaiting, wait_for


def _pids_with(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (this machine's /proc)."""
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append(int(p.name))
    return found


def test_with_a_display_the_kiosk_opens_for_a_person_and_the_demo_ends_cleanly(
    tmp_path: Path,
    xvfb: str,  # noqa: F811
) -> None:
    work = tmp_path / "demo"
    first_frame = tmp_path / "first-frame"
    env = {**os.environ, "DISPLAY": xvfb, "OMK_KIOSK_FIRST_FRAME_FILE": str(first_frame)}
    demo = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "main.py"), "demo", "--events", "20", "--devices",
         "1", "--dir", str(work)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout), daemon=True)
    reader.start()
    try:

        def window_open() -> bool:
            if demo.poll() is not None:
                raise StopWaiting("the demo ended before its window opened:\n" + "".join(lines))
            return first_frame.exists()

        wait_for(window_open, 240, 0.2, "the kiosk window (its first frame)")
        out = "".join(lines)
        assert "the kiosk is open in a window (device s001-k1)." in out, out
        pin = re.search(r"staff PIN for the s001 kiosks' pickup desk: (\d{6}) ", out)
        assert pin and f"hold the top-left corner for 3 seconds, PIN {pin.group(1)}" in out
        images = re.findall(r"^  (\S+\.png)  (.+)$", out, re.M)
        assert {what.split()[0] for _, what in images} >= {"cmp-flyer", "cmp-poster", "pickup"}
        for path, what in images:  # each one a code the kiosk's own decoder reads
            decoded = decode_frame(cv2.imread(path))
            assert decoded.texts and decoded.texts[0].lower().startswith(
                "https://shop.example.com/"
            ), what
        kiosks = _pids_with(f"kiosk --config {work}")
        assert len(kiosks) == 1, kiosks
        os.kill(kiosks[0], signal.SIGTERM)  # the person closes the window
        assert demo.wait(timeout=120) == 0, "".join(lines)
    finally:
        if demo.poll() is None:  # a failed check: Ctrl-C, so the demo stops what it started
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
        reader.join(timeout=10)
    out = "".join(lines)
    assert "what central recorded of the kiosk visit:" in out, out
    assert re.search(r"order o-\w+: ready", out), out  # nobody handed it over
    assert "screenshots of the kiosk" not in out  # a person's visit is not recorded
    assert not _pids_with(str(work)), "the demo left processes running"
