"""The README's commands work as written (docs that cannot rot)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from tests.support import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README has no quick-start command block"
    return [
        ln.split("#")[0].strip() for ln in block.group(1).splitlines() if ln.split("#")[0].strip()
    ]


def test_quick_start_is_the_two_commands():
    assert quick_start_commands() == ["make demo", "make test"]


def test_make_demo_runs_as_written():
    # `make test` is the command running this test, so only `make demo` is run here.
    r = subprocess.run(["make", "demo"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "kiosks enqueued 600 events" in r.stdout
    m = re.search(r"events stored\s+([\d,]+)", r.stdout)
    assert m and int(m.group(1).replace(",", "")) == 600, r.stdout
    assert "s001-k1" in r.stdout and "s001-k2" in r.stdout


def test_every_command_in_the_parts_table_parses():
    section = README.split("## Running the parts", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\| `python main\.py ([^`]*)`", section, re.M)
    assert len(commands) >= 6
    for cmd in commands:
        # subcommand words only: lower-case, dashes allowed (not FILE, KEYID, flags, [options])
        words = [
            w for w in shlex.split(cmd.replace("\\|", "|")) if re.fullmatch(r"[a-z][a-z-]*", w)
        ]
        r = subprocess.run(
            [sys.executable, str(REPO_ROOT / "main.py"), *words, "--help"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
        )
        assert r.returncode == 0, f"`python main.py {cmd}`: {r.stderr}"
