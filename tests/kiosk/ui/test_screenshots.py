"""Every screen in both orientations and both languages, rendered by the real app under
Xvfb and saved where a person can look at them (``$OMK_ARTIFACTS/screens``, default
``var/artifacts/screens``, never committed); nothing cut off or off the window."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk import theme
from tests.kiosk.ui.conftest import ROOT, XVFB_SCREEN

ARTIFACTS = Path(os.environ.get("OMK_ARTIFACTS", ROOT / "var" / "artifacts")) / "screens"


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_every_screen_renders_whole_in_both_languages(ui, orientation: str) -> None:
    out = ARTIFACTS / orientation
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, str(ROOT / "main.py"), "kiosk", "--config", str(ui.config),
           "--shots", str(out)]  # fmt: skip
    if orientation == "landscape":
        cmd.append("--landscape")
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", f"-screen 0 {XVFB_SCREEN}", *cmd],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    assert result["ok"], result.get("traceback", "") + proc.stderr[-3000:]
    assert result["layout_problems"] == []
    names = {shot.split(f"-{orientation}-")[0] for shot in result["shots"]}
    assert "home" in names
    want = (1080, 1920) if orientation == "portrait" else (1920, 1080)
    for name in names:
        for lang in ("en", "de"):
            png = out / f"{name}-{orientation}-{lang}.png"
            im = Image.open(png)
            assert im.size == want, png
            assert len(set(im.convert("L").resize((48, 48)).tobytes())) > 8, f"{png} is blank"
    # the welcome after a code with no offer: the check-in's big tick fills the middle,
    # not an empty band between the greeting and the buttons (its disc is ~4 % of the
    # window; the home screen's green is under 0.1 %)
    tick = np.array([round(c * 255) for c in theme.IN_STOCK[:3]])
    for lang in ("en", "de"):
        welcome = np.asarray(Image.open(out / f"welcome-{orientation}-{lang}.png").convert("RGB"))
        green = (np.abs(welcome.astype(int) - tick).max(axis=-1) <= 8).mean()
        assert green > 0.02, f"welcome-{orientation}-{lang}: {green:.1%} of it is the tick's green"
