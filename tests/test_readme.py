"""The README's commands work as written (docs that cannot rot)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

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
    # `make test` is the command running this test, so only `make demo` is run here. No
    # display, as on CI: the demo runs the kiosk under Xvfb with its scripted shopper.
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    r = subprocess.run(
        ["make", "demo"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    out = r.stdout
    assert r.returncode == 0, out[-3000:] + r.stderr[-3000:]
    assert "kiosks enqueued 600 events" in out
    # the demo retailer's store data, imported as `central import-*` does
    assert "store data: imported 6 stores, 3000 products, 16189 stock rows" in out
    # real orders handed over at the kiosks: none unknown to central, no conflicts at all
    m = re.search(r"click-and-collect in s001: (\d+) orders made ready, (\d+) picked up "
                  r"at the kiosks, 0 conflicts \(none\)", out)  # fmt: skip
    assert m and 0 < int(m.group(2)) <= int(m.group(1)), out
    # the staff PIN, and the handovers at the kiosks' pickup desks with it
    assert re.search(r"staff PIN for the s001 kiosks' pickup desk: \d{6} ", out), out
    handed = re.findall(r"^  s001-k\d: (\d+) orders? handed over", out, re.M)
    assert len(handed) == 2 and sum(map(int, handed)) == int(m.group(2)), out
    assert re.search(r"a second scan of o-\w+'s code at s001-k1: refused \(already_handed_over\)"
                     r": Order o-\w+ was already handed over .* by Demo Staff \(demo-staff\)",
                     out), out  # fmt: skip
    # the device's copy of the store data: the snapshot, then the restock as a delta
    assert "store data at the kiosk (s001-k1, through its availability API):" in out
    assert re.search(r"1 snapshot loaded, [1-9]\d* deltas? applied", out), out
    assert re.search(r"GW-00001 Gardena Spade \(Gardena, 13\.99 EUR\): here in stock, 12; "
                     r"data \d+ s old", out), out  # fmt: skip
    assert re.search(r"^    s00\d\s+Grünwerk .*\d+\.\d km", out, re.M), out
    # central stats: KIOSK, ONLINE and TOTAL columns that add up
    m = re.search(r"events stored\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)", out)
    assert m, out
    kiosk, online, total = (int(g.replace(",", "")) for g in m.groups())
    assert kiosk == 600 and online > 0 and kiosk + online == total, m.group(0)
    assert re.search(r"dead letters\s+0\s+0\s+0", out), out
    assert "s001-k1" in out and "s001-k2" in out
    # what a marketer looks at
    assert "top 10 profiles by score:" in out
    assert re.search(r"PROFILE\s+SEEN\s+SCORE\s+GRADE\s+LIFECYCLE\s+FUNNEL STAGE", out)
    assert "kiosk + online" in out
    stages = re.findall(r"^  (\w+)\s+([\d,]+)\s+([\d,]+)\s+[\d.]+%$", out, re.M)
    assert [s[0] for s in stages][:2] == ["awareness", "interest"], out
    counts = [int(s[1].replace(",", "")) for s in stages]
    drops = [int(s[2].replace(",", "")) for s in stages]
    assert counts == sorted(counts, reverse=True) and sum(drops) + counts[-1] == counts[0]
    assert f"{counts[0]} entered = {sum(drops)} dropped off" in out
    assert "webhooks fired (threshold.crossed → http://127.0.0.1:" in out
    m = re.search(r"the receiver got (\d+) POSTs, (\d+) with a valid signature", out)
    assert m is None or m.group(1) == m.group(2), out
    # ready to paste: a key this demo made
    assert re.search(r"curl -s -H 'Authorization: Bearer omk_[0-9a-f]{16}_\S{43}' 'http://", out)
    assert "--keep-running" in out
    _kiosk_part_holds(out)


def _kiosk_part_holds(out: str) -> None:
    """The real kiosk app, touched by the demo's script: a flyer's code from the camera,
    a search, a handover at the desk; then what central recorded of it."""
    assert "the kiosk app on s001-k1 (under Xvfb, real touches by a script):" in out, out
    assert re.search(
        r"flyer mailed to Mia Schneider \(c-web-001\): the welcome screen says: "
        r"Welcome back! / Here is your offer\. / 15% off garden tools",
        out,
    ), out
    assert re.search(r"searched 'spade' .*: \d+ results shown; first GW-00001 Gardena Spade: "
                     r"12 in stock", out), out  # fmt: skip
    order = re.search(
        r"the desk's camera read (o-\w+)'s code: Order \1 · [A-Z]\.[A-Z]\. / \d items? / "
        r"\d+× \w",  # the order's lines as the desk shows them
        out,
    )
    assert order, out
    assert f"handed over: Order {order.group(1)} is handed over." in out, out
    # central: the score the visit added (the rules' points, summed as shown), the journey
    m = re.search(r"profile (p-\w+) \(shop customer c-web-001, who got the flyer\): score "
                  r"([\d.]+) → ([\d.]+)", out)  # fmt: skip
    assert m, out
    points = [int(p) for p in re.findall(r"^    ([+-]\d+) kiosk\.\w+ ", out, re.M)]
    assert points and abs(float(m.group(2)) + sum(points) - float(m.group(3))) < 0.15, out
    assert re.search(r"^    \d\d:\d\d:\d\d  kiosk\s+campaign_scan\s+s001\s+s001-k1\s+cmp-flyer",
                     out, re.M), out  # fmt: skip
    assert re.search(r"^    \d\d:\d\d:\d\d  kiosk\s+feedback\s+s001", out, re.M), out
    assert "campaign cmp-flyer: 1 scans at the kiosks, 1 profiles" in out, out
    assert f"order {order.group(1)}: picked_up at s001 (s001-k1)" in out, out
    shots = re.search(r"screenshots of the kiosk: (\S+)/ \((\d+): ", out)
    assert shots and int(shots.group(2)) >= 10, out
    assert (Path(shots.group(1)) / "03-welcome.png").stat().st_size > 10_000


def parts_table_commands() -> list[str]:
    section = README.split("## Running the parts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `\.venv/bin/omnikiosk ([^`]*)`", section, re.M)


def test_every_command_in_the_parts_table_parses():
    commands = parts_table_commands()
    assert len(commands) >= 6
    for cmd in commands:
        # subcommand words only: lower-case, dashes allowed (not FILE, KEYID, flags, [options])
        words = [
            w for w in shlex.split(cmd.replace("\\|", "|")) if re.fullmatch(r"[a-z][a-z-]*", w)
        ]
        # .venv/bin/omnikiosk is `main:main` in the .venv's Python; running main.py with
        # that Python tests this checkout's parser (the .venv may be shared by several)
        r = subprocess.run(
            [sys.executable, str(REPO_ROOT / "main.py"), *words, "--help"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
        )
        assert r.returncode == 0, f"`.venv/bin/omnikiosk {cmd}`: {r.stderr}"


def test_make_leaves_omnikiosk_in_the_venv():
    script = REPO_ROOT / ".venv" / "bin" / "omnikiosk"
    assert script.is_file(), "make deps installs the omnikiosk command"
    assert "from main import main" in script.read_text()
    assert 'omnikiosk = "main:main"' in (REPO_ROOT / "pyproject.toml").read_text()
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert r.returncode == 0 and "central" in r.stdout, r.stderr
