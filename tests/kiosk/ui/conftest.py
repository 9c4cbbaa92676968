"""The kiosk app itself, in its own process under Xvfb, touched by a script
(``kiosk/script.py``) on a real edge.db holding a store snapshot, central's keys, staff
and a ready order (the controller tests' kiosk, ``tests/kiosk/controllers/conftest``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.kiosk.controllers.conftest import make_kiosk

ROOT = Path(__file__).resolve().parents[3]
#: big enough for the portrait window (1080×1920) and the landscape one
XVFB_SCREEN = "1920x1920x24"


@dataclass
class UiRun:
    result: dict[str, Any]
    out: Path
    log: str

    def png(self, name: str) -> Path:
        return self.out / f"{name}.png"


@dataclass
class UiKiosk:
    config: Path
    tmp: Path
    order_code: Any
    db_path: Path

    def run(self, script: str, landscape: bool = False, timeout: float = 120) -> UiRun:
        """Run ``script`` (the body of ``def script(k):``, dedented) against the app;
        fails the test with the app's log when the script fails."""
        n = len(list(self.tmp.glob("script-*.py")))
        path = self.tmp / f"script-{n}.py"
        body = textwrap.indent(textwrap.dedent(script).strip("\n"), "    ")
        path.write_text(f"def script(k):\n{body}\n")
        out = self.tmp / f"out-{n}"
        cmd = [sys.executable, str(ROOT / "main.py"), "kiosk", "--config", str(self.config),
               "--windowed", "--script", str(path), "--out", str(out)]  # fmt: skip
        if landscape:
            cmd.append("--landscape")
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            pytest.fail("xvfb-run is missing: make deps installs it (package xvfb)")
        proc = subprocess.run(
            [xvfb, "-a", "-s", f"-screen 0 {XVFB_SCREEN}", *cmd],
            capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        )  # fmt: skip
        log = proc.stdout + proc.stderr
        result_file = out / "result.json"
        if not result_file.exists():
            pytest.fail(f"the kiosk exited {proc.returncode} without a result:\n{log[-4000:]}")
        result = json.loads(result_file.read_text())
        if not result.get("ok"):
            pytest.fail(f"the script failed: {result.get('traceback')}\n{log[-4000:]}")
        return UiRun(result, out, log)


def ui_kiosk(tmp_path: Path, kiosk_toml: str = "") -> UiKiosk:
    """A kiosk device in ``tmp_path``; ``kiosk_toml`` adds lines to its ``[kiosk]``
    table (``idle_s = 2``, …)."""
    k = make_kiosk(tmp_path)
    config, db_path, code = k.config, k.db_path, k.order_code
    k.c.close()
    k.client.close()
    if kiosk_toml:
        config.write_text(config.read_text() + "[kiosk]\n" + textwrap.dedent(kiosk_toml))
    return UiKiosk(config, tmp_path, code, db_path)


@pytest.fixture
def ui(tmp_path: Path) -> UiKiosk:
    return ui_kiosk(tmp_path)


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A display of our own for a kiosk run as a long-lived process: its DISPLAY."""
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.fail("Xvfb is missing: make deps installs it (package xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [binary, "-displayfd", str(write), "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)
