"""``python main.py qr decode IMAGE...``: one JSON line per image, errors on their line."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2

from kiosk.qr_decode import decode_frame
from tests.support import REPO_ROOT
from tests.support.qr_distort import make_sample


def _run(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "qr", "decode", *paths],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )


def test_prints_one_line_per_image_in_order(tmp_path):
    code, blurred, empty = (make_sample(k, 21) for k in ("perspective", "gaussian_blur", "empty"))
    files = []
    for s, name in ((code, "code.png"), (blurred, "blurred.jpg"), (empty, "empty.png")):
        cv2.imwrite(str(tmp_path / name), s.image)
        files.append(str(tmp_path / name))
    r = _run(*files)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [ln["file"] for ln in lines] == files
    assert all(set(ln) == {"file", "texts", "ms"} and ln["ms"] >= 0 for ln in lines)
    assert lines[0]["texts"] == [code.text]
    # the JPEG is read back exactly as the kiosk's path would read the same file
    again = decode_frame(cv2.imread(files[1])).texts
    assert lines[1]["texts"] == list(again) and again == (blurred.text,)
    assert lines[2]["texts"] == []


def test_an_unreadable_file_gets_an_error_line_and_exit_1(tmp_path):
    good = make_sample("clean", 22)
    cv2.imwrite(str(tmp_path / "good.png"), good.image)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG but not really")
    files = [
        str(tmp_path / "broken.png"),
        str(tmp_path / "missing.png"),
        str(tmp_path / "good.png"),
    ]
    r = _run(*files)
    assert r.returncode == 1
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert lines[0] == {"file": files[0], "error": lines[0]["error"]}
    assert "not an image the kiosk can read" in lines[0]["error"]
    assert lines[1] == {"file": files[1], "error": "no such file"}
    assert lines[2]["texts"] == [good.text]
    assert "2 of 3 files could not be read" in r.stderr


def test_needs_at_least_one_image():
    r = _run()
    assert r.returncode == 2 and "IMAGE" in r.stderr
