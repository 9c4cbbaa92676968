"""``kiosk_ui``'s screen-level scan: in the real app (``main.py kiosk --script``), a
shopper taps "Scan your code" and holds up a printed profile code in front of a camera
(an image-folder camera: a few frames without the code, then frames with it, 640×480 at
10 frames/s). The figure is the time from the capture of the first frame that carries
the code (``Frame.ts``, monotonic) to the first buffer swap after the app switched to
the welcome screen: decode in the scan worker, the Clock hop to the UI thread, the
offline check, the ``visit.linked`` event committed, the screen change, and its frame
drawn. Each round is a new session (the idle reset between them), with its own code.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks._common import MAIN, ROOT, percentile, result

LEAD_FRAMES = 4  # frames without a code before it shows
CODE_FRAMES = 15

SCRIPT = """
import json, shutil, time
from pathlib import Path
from kivy.core.window import Window

FRAMES, CAM, N = Path({frames!r}), Path({cam!r}), {n!r}
flips = []
Window.bind(on_flip=lambda *_: flips.append(time.monotonic()))


def use(i):
    for p in CAM.iterdir():
        p.unlink()
    for p in sorted((FRAMES / f"c{{i:03d}}").iterdir()):
        shutil.copy(p, CAM / p.name)


def script(k):
    def settled(name):
        return k.current == name and not k.app.manager.transition.is_active

    yield k.until(lambda: settled("home"), 30, "the home screen")
    rounds = []
    for i in range(N):
        use(i)
        k.tap_text(k.controllers.home.scan_label())
        yield k.until(lambda: k.current == "welcome", 20, f"the welcome screen, code {{i}}")
        trace = dict(k.controllers.scanflow.trace)
        yield k.until(lambda: flips and flips[-1] > trace["screen_change"], 5, "a frame")
        shown = next(t for t in flips if t > trace["screen_change"])
        rounds.append({{key: (v - trace["frame"]) * 1000 for key, v in trace.items()}}
                      | {{"shown": (shown - trace["frame"]) * 1000}})
        k.controllers.session.reset("timeout")
        yield k.until(lambda: settled("home"), 10, "home after the reset")
    k.result["rounds"] = rounds
"""


def _frames(folder: Path, text: str, seed: int) -> None:
    import cv2

    from benchmarks._kiosk_controllers import frame_of

    folder.mkdir(parents=True)
    held = frame_of(text, px=5)
    blank = held.copy()
    blank[:] = 128 + seed % 7  # the empty counter top
    for i in range(LEAD_FRAMES + CODE_FRAMES):
        cv2.imwrite(str(folder / f"{i:03d}.png"), blank if i < LEAD_FRAMES else held)


def _video(folder: Path, video: Path) -> None:
    """The frames of ``folder`` as an MJPG recording at 10 frames/s."""
    import cv2

    files = sorted(folder.iterdir())
    first = cv2.imread(str(files[0]))
    h, w = first.shape[:2]
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    if not out.isOpened():
        raise RuntimeError(f"OpenCV cannot write {video}")
    for f in files:
        out.write(cv2.imread(str(f)))
    out.release()


def camera_device(
    tmp: Path, config: Path, n: int, name: str, video: bool = False
) -> tuple[Path, Path, Path]:
    """The test signing key given to the device, ``n`` profile codes' frames (folders
    ``c000``…, each a code held up), an empty image-folder camera and a device config
    reading it; returns (that config, the frames folder, the camera folder).

    ``video``: each code's frames also as a recording (``c000.avi``…) and the camera a
    video file (the camera path, holding the first code's recording until the caller
    copies another over it), read through OpenCV as a camera device is."""
    from edge_sync import EdgeClient
    from edge_sync.config import load_device_config
    from edge_sync.protocol.tokens import Keyring, keys_message
    from tests.edge.pickups.helpers import PUBLIC, SIGNER

    client = EdgeClient.from_config(load_device_config(config))
    try:
        client.codes.apply(keys_message(Keyring([PUBLIC]), [], datetime.now(UTC)))
    finally:
        client.close()
    frames, cam = tmp / f"{name}-frames", tmp / f"{name}-cam"
    today = date.today()
    for i in range(n):
        token = SIGNER.sign("p", f"p-{name}{i:04d}", not_before=today - timedelta(days=1),
                            not_after=today + timedelta(days=30))  # fmt: skip
        _frames(frames / f"c{i:03d}", SIGNER.url(token), i)
        if video:
            _video(frames / f"c{i:03d}", frames / f"c{i:03d}.avi")
    if video:
        cam = cam.with_suffix(".avi")
        shutil.copy(frames / "c000.avi", cam)
    else:
        cam.mkdir()
    device = tmp / f"{name}-device.toml"
    device.write_text(config.read_text() + f'[kiosk]\ncamera = "file:{cam}"\n')
    return device, frames, cam


def bench_scan_screen(tmp: Path, config: Path, n: int) -> None:
    scan_config, frames, cam = camera_device(tmp, config, n, "scan")
    script = tmp / "scan-screen.py"
    script.write_text(textwrap.dedent(SCRIPT).format(frames=str(frames), cam=str(cam), n=n))
    out = tmp / "scan-screen-out"
    cmd = [sys.executable, str(MAIN), "kiosk", "--config", str(scan_config), "--windowed",
           "--script", str(script), "--out", str(out)]  # fmt: skip
    log = tmp / "scan-screen.log"
    with log.open("wb") as fh:
        subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, timeout=60 + 10 * n)
    done = out / "result.json"
    outcome = json.loads(done.read_text()) if done.exists() else {"ok": False}
    if not outcome.get("ok"):
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the scan-screen run failed: {outcome.get('error')}\n{tail}")
    rounds = outcome["rounds"]
    shown = [r["shown"] for r in rounds]
    steps = {key: statistics.median(r[key] for r in rounds)
             for key in ("got_it", "check_start", "checked", "screen_change")}  # fmt: skip
    print(
        f"scan to screen change, in the app: {len(shown)} scans, each a new session; "
        f"frame → welcome shown p50 {statistics.median(shown):.1f} ms, "
        f"p95 {percentile(shown, 95):.1f} ms, max {max(shown):.1f} ms (medians from the "
        "frame's capture: " + ", ".join(f"{k} {v:.1f} ms" for k, v in steps.items()) + ")"
    )
    result("kiosk_scan_to_outcome_p95_ms", percentile(shown, 95), "<=", 150)
    shutil.rmtree(frames, ignore_errors=True)
