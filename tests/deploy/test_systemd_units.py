"""The unit files in device_config/systemd/ start real commands with real flags (read
from ``python main.py <command> --help``), restart on failure under a watchdog that
the processes actually ping, and keep the kiosk and the daemon apart."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "device_config" / "systemd"
KIOSK, EDGE = UNITS / "omnikiosk-kiosk.service", UNITS / "omnikiosk-edge.service"


def directives(path: Path) -> dict[str, list[str]]:
    """``Key=value`` lines by key (a key may repeat), comments and sections left out."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a directive: {line!r}"
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def help_flags(*command: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *command, "--help"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", proc.stdout))


@pytest.mark.parametrize(("unit", "command"), [(KIOSK, "kiosk"), (EDGE, "edge")])
def test_exec_start_is_a_real_command_with_real_flags(unit: Path, command: str) -> None:
    [exec_start] = directives(unit)["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0].endswith("/.venv/bin/python") and argv[1].endswith("/main.py"), argv
    assert argv[2] == command
    flags = help_flags(command)
    used = [a for a in argv[3:] if a.startswith("--")]
    assert used and set(used) <= flags, f"{unit.name}: {used} not all in {sorted(flags)}"
    assert "--config" in used
    # the config it names is the one docs/kiosk.md installs, and each flag has its value
    assert argv[argv.index("--config") + 1] == "/etc/omnikiosk/device.toml"
    assert "--windowed" not in used and "--script" not in used  # full screen, for real


@pytest.mark.parametrize("unit", [KIOSK, EDGE])
def test_restart_on_failure_under_a_watchdog_the_process_pings(unit: Path) -> None:
    d = directives(unit)
    assert d["Restart"] == ["on-failure"]
    assert d["Type"] == ["notify"] and d["NotifyAccess"] == ["main"]
    [watchdog] = d["WatchdogSec"]
    assert 5 <= int(watchdog) <= 120
    pinger = {KIOSK: ROOT / "kiosk" / "ops_hooks.py", EDGE: ROOT / "edge_sync" / "daemon.py"}
    assert "watchdog()" in pinger[unit].read_text()


def test_the_kiosk_and_the_daemon_are_apart() -> None:
    kiosk, edge = directives(KIOSK), directives(EDGE)
    for d, other in ((kiosk, EDGE.name), (edge, KIOSK.name)):
        for key in ("Requires", "BindsTo", "PartOf", "Requisite", "Upholds"):
            assert not any(other in v for v in d.get(key, [])), f"{key} ties the units"
    assert edge["User"] == ["omk-edge"] and "User" not in kiosk  # the kiosk: a user unit
    assert edge["Group"] == ["omnikiosk"] and edge["StateDirectoryMode"] == ["2770"]
    assert kiosk["WantedBy"] == ["default.target"] and edge["WantedBy"] == ["multi-user.target"]


def test_the_session_never_blanks_and_starts_the_kiosk_unit() -> None:
    xinitrc = (UNITS / "xinitrc").read_text()
    for needed in ("xset s off", "xset s noblank", "xset -dpms",
                   "systemctl --user start omnikiosk-kiosk.service", "exec openbox"):  # fmt: skip
        assert needed in xinitrc
    profile = (UNITS / "bash_profile").read_text()
    assert "startx /etc/omnikiosk/xinitrc" in profile and "-s 0 -dpms" in profile
    assert "--autologin omk-kiosk" in (UNITS / "autologin.conf").read_text()


def test_the_docs_install_every_file() -> None:
    doc = (ROOT / "docs" / "kiosk.md").read_text()
    for f in sorted(UNITS.iterdir()):
        assert f"device_config/systemd/{f.name}" in doc, f"{f.name} is not in docs/kiosk.md"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(EDGE), str(KIOSK)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    bad = [line for line in proc.stderr.splitlines()
           if "Unknown key" in line or "Invalid" in line or "Failed to parse" in line]  # fmt: skip
    assert not bad, proc.stderr
