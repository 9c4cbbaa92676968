"""The demo's kiosk: the real app on the demo store's first device, beside its sync
daemon, with the codes ``demo_codes`` made.

``window``: the kiosk opens in a window for a person to use; the demo prints the code
images to show its camera and the staff PIN, and waits until the window is closed (the
staff menu's "Exit the kiosk", or closing it). ``script``: the app runs under Xvfb with
``kiosk/demo_shopper.py``, a scripted shopper and staff member. Either way the demo then
waits for the device's outbox to reach central and prints what central recorded: the
shopper's journey, the score changes the visit made, the campaigns' numbers, the order
handed over, and where the screenshots are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edge_sync.protocol import format_ts, parse_ts, utcnow

from .demo_codes import FLYER, POSTER, DemoCodes, make_codes, show_camera
from .demo_online import Api, DemoApiError, integration_profile

#: the demo kiosk's store
STORE = "s001"
#: big enough for the portrait window (1080×1920)
XVFB_SCREEN = "1280x1920x24"
#: what the demo's search types on the kiosk's keyboard
QUERY = "spade"
SCRIPT = Path(__file__).resolve().parents[1] / "kiosk" / "demo_shopper.py"


@dataclass
class KioskRun:
    """What the kiosk did: the script's record (empty for a person) and its screenshots."""

    result: dict[str, Any]
    shots: Path | None
    started: datetime
    ended: datetime


def kiosk_config(cfg: Path, camera: str) -> None:
    """The device config's ``[kiosk]`` table: the camera, and no dimming in the demo."""
    with cfg.open("a", encoding="utf-8") as f:
        f.write(f'[kiosk]\ncamera = "{camera}"\n')


def camera_setting(root: Path, mode: str) -> str:
    """A real camera when a person runs the demo on a machine with one; otherwise the
    demo's camera folder (``root/camera``), which shows whatever images are in it."""
    if mode == "window" and Path("/dev/video0").exists():
        return "device:0"
    return f"file:{root / 'camera'}"


def device_ready(cfg: Path, codes: DemoCodes) -> Callable[[], bool]:
    """True once the device has what the visit needs: central's keys (the flyer's code
    verifies offline), both campaigns, and the order ready for pickup."""
    from edge_sync import EdgeClient
    from edge_sync.config import load_device_config
    from edge_sync.pickups.desk import PickupDesk
    from edge_sync.pickups.refusals import PickupRefused
    from edge_sync.protocol.tokens import InvalidToken

    def ready() -> bool:
        client = EdgeClient.from_config(load_device_config(cfg))
        desk = PickupDesk(client)
        try:
            if client.campaign(FLYER) is None or client.campaign(POSTER) is None:
                return False
            client.verify_code(codes.flyer.text)
            desk.scan(codes.pickup.text)
            return True
        except (InvalidToken, PickupRefused):
            return False
        finally:
            desk.close()
            client.close()

    return ready


def run_kiosk(
    root: Path, py: list[str], cfg: Path, codes: DemoCodes, pin: str, staff_name: str,
    mode: str,
) -> KioskRun:  # fmt: skip
    """Run the kiosk app on ``cfg``'s device until the script ends or the person closes
    it; the app's log is ``root/logs/kiosk.log``."""
    started = utcnow()
    show_camera(root / "frames" / "blank", root / "camera")
    argv = [*py, "kiosk", "--config", str(cfg), "--windowed"]
    log = open(root / "logs" / "kiosk.log", "wb")  # noqa: SIM115 - closed below
    try:
        if mode == "window":
            p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            try:
                p.wait()
            except KeyboardInterrupt:
                p.terminate()
                p.wait(timeout=15)
            return KioskRun({}, None, started, utcnow())
        shots = root / "screens"
        params = root / "shopper.json"
        params.write_text(json.dumps({
            "camera": str(root / "camera"), "frames": str(root / "frames"), "pin": pin,
            "flyer": codes.flyer.name, "pickup": codes.pickup.name,
            "staff_name": staff_name, "query": QUERY, "order_id": codes.order_id,
            "order_code": codes.pickup.text,
        }), encoding="utf-8")  # fmt: skip
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            raise RuntimeError("xvfb-run is missing (make demo installs it: package xvfb)")
        env = {**_env(), "OMK_DEMO_SHOPPER": str(params)}
        r = subprocess.run(
            [xvfb, "-a", "-s", f"-screen 0 {XVFB_SCREEN}", *argv, "--script", str(SCRIPT),
             "--out", str(shots)],
            stdout=log, stderr=subprocess.STDOUT, env=env, timeout=300,
        )  # fmt: skip
    finally:
        log.close()
    result_file = shots / "result.json"
    if not result_file.exists():
        raise RuntimeError(f"the kiosk exited {r.returncode} without a result; see {log.name}")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    if not result.get("ok"):
        raise RuntimeError(f"the scripted shopper failed: {result.get('error')}; see {log.name}")
    return KioskRun(result, shots, started, utcnow())


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "DISPLAY"}


def wait_for_central(
    admin: Api, shop: Api, codes: DemoCodes, run: KioskRun, device: str,
    wait: Callable[[str, Callable[[], bool], float], None],
) -> None:  # fmt: skip
    """Until the device's outbox is empty and central has the visit (and, when the
    script handed the order over, the order picked up)."""

    def drained() -> bool:
        devs = {d["device_id"]: d for d in admin.call("GET", "/api/v1/stats")["devices"]}
        d = devs.get(device)
        # a heartbeat after the app ended says how many events its outbox still holds
        beat = d and d.get("last_heartbeat_at")
        return bool(beat) and parse_ts(beat) > run.ended and d["queue_depth"] == 0

    wait(f"{device}'s outbox to reach central", drained, 60)
    if run.result:

        def picked() -> bool:
            return shop.call("GET", f"/api/v1/orders/{codes.order_id}")["state"] == "picked_up"

        wait(f"order {codes.order_id} picked up at central", picked, 30)


def _hhmmss(ts: str) -> str:
    return parse_ts(ts).strftime("%H:%M:%S")


def kiosk_report(
    admin: Api, marketer: Api, shop: Api, codes: DemoCodes, run: KioskRun,
    score_before: dict[str, Any] | None, device: str, store: str,
) -> list[str]:  # fmt: skip
    """What central recorded of the kiosk visit, as a marketer reads it."""
    out = ["what central recorded of the kiosk visit:"]
    pid = integration_profile(admin, codes.recipient_id)
    prof = marketer.call("GET", f"/api/v1/profiles/{pid}")
    score = marketer.call("GET", f"/api/v1/profiles/{pid}/score")
    since = format_ts(run.started)
    new = [ln for ln in score["lines"] if ln["occurred_at"] >= since]
    before = score_before["total_decayed"] if score_before else 0.0
    out.append(
        f"  profile {pid} (shop customer {codes.recipient_id}, who got the flyer): score "
        f"{before:.1f} → {prof['score']['total_decayed']:.1f}, grade {prof['grade'] or '-'}, "
        f"funnel stage {prof['funnel_stage'] or '-'}"
    )
    for ln in new:
        out.append(f"    {ln['points']:+d} {ln['rule_id']} ({ln['group']}) at "
                   f"{_hhmmss(ln['occurred_at'])}")  # fmt: skip
    if not new:
        out.append("    (no score change from the visit)")
    journey = marketer.call("GET", f"/api/v1/profiles/{pid}/journey")
    if journey["withheld"]:
        out.append(f"  journey withheld: {journey['withheld']}")
    else:
        tps = journey["touchpoints"]
        out.append(f"  journey: {len(tps)} touchpoints; the last ones:")
        for tp in tps[-6:]:
            out.append(
                f"    {_hhmmss(tp['occurred_at'])}  {tp['channel']:<6} {tp['task']:<13} "
                f"{tp['store_id'] or '-':<5} {tp['device_id'] or '-':<8} {tp['campaign_id'] or ''}"
            )
        friction = journey["friction"]
        if friction:
            out.append(f"  friction: {', '.join(f['kind'] for f in friction)}")
    attribution = marketer.call("GET", "/api/v1/campaign-reports/attribution")
    rows = {(r["campaign_id"], r["store_id"]): r for r in attribution["rows"]}
    for cid in (FLYER, POSTER):
        scans = sum(r["scans"] for (c, _s), r in rows.items() if c == cid)
        profiles = sum(r["profiles"] for (c, _s), r in rows.items() if c == cid)
        conv = sum(r["conversions"] for (c, _s), r in rows.items() if c == cid)
        out.append(f"  campaign {cid}: {scans} scans at the kiosks, {profiles} profiles, "
                   f"{conv} conversions")  # fmt: skip
    order = shop.call("GET", f"/api/v1/orders/{codes.order_id}")
    out.append(f"  order {codes.order_id}: {order['state']}"
               + (f" at {store} ({device})" if order["state"] == "picked_up" else ""))  # fmt: skip
    if run.shots is not None:
        names = sorted(p.name for p in run.shots.glob("*.png"))
        out.append(f"  screenshots of the kiosk: {run.shots}/ ({len(names)}: "
                   f"{', '.join(names)})")  # fmt: skip
    return out


def score_of(admin: Api, marketer: Api, recipient_id: str) -> dict[str, Any] | None:
    try:
        pid = integration_profile(admin, recipient_id)
    except DemoApiError:
        return None
    return marketer.call("GET", f"/api/v1/profiles/{pid}")["score"]


def codes_list(codes: DemoCodes) -> list[str]:
    """The code image files: what each is, and the text its QR code holds."""
    out = ["codes to scan at the kiosk (image files; the kiosk's camera reads them too):"]
    for c in codes.all:
        out.append(f"  {c.image}  {c.what}")
    return out


def how_to_use(root: Path, codes: DemoCodes, pin: str, camera: str) -> list[str]:
    """For a person at the kiosk window: how to show it a code, and the staff PIN."""
    out = ["the kiosk is open in a window (device s001-k1)."]
    if camera.startswith("file:"):
        out.append(
            f"its camera is the folder {root / 'camera'}: copy a code's image there "
            f'(cp {codes.flyer.image} {root / "camera"}/), then tap "Scan your code"'
        )
    else:
        out.append('show a code to the camera (on a phone, or printed) after "Scan your code"')
    out.append(
        f"staff: hold the top-left corner for 3 seconds, PIN {pin}; at the pickup desk show "
        f'{codes.pickup.image.name}. The staff menu\'s "Exit the kiosk" (or closing the '
        "window) ends the demo."
    )
    return out


def script_summary(run: KioskRun, codes: DemoCodes, device: str) -> list[str]:
    """What the scripted shopper and staff member saw on the kiosk's screens."""
    r = run.result
    welcome = " / ".join(r.get("welcome", [])[:4])
    found = r.get("search", [])
    first = f"; first {found[0][0]} {found[0][1]}: {found[0][2]}" if found else ""
    order = " / ".join(t for t in r.get("order", []) if t)
    done = r.get("handed_over", "")
    return [
        f"the kiosk app on {device} (under Xvfb, real touches by a script):",
        f"  a shopper shows the camera {codes.flyer.what}: the welcome screen says: {welcome}",
        "  it asks for consent (given with one tap), then a rating: Very good, Helpful staff",
        f"  searched {QUERY!r} on the on-screen keyboard: {len(found)} results shown{first}",
        f"  staff held the corner, typed the PIN; the desk's camera read {codes.order_id}'s code: {order}",
        f"  handed over: {done}",
    ]


def kiosk_phase(
    root: Path, py: list[str], cfg: Path, apis: dict[str, Api], pin: str, mode: str,
    staff_name: str, skus: list[str], wait: Callable[[str, Callable[[], bool], float], None],
) -> list[str]:  # fmt: skip
    """The real kiosk app on ``cfg``'s device: the codes to scan, the visit (a person's
    or the script's), and what central recorded of it (the lines to print)."""
    admin, marketer, shop = apis["admin"], apis["marketer"], apis["integration"]
    codes = make_codes(root, py, marketer, shop, utcnow().date(), STORE, skus)
    print(
        "two campaigns made (a direct-mail flyer with a code per customer, a poster with one "
        f"code), and order {codes.order_id} ready for pickup; their codes are images in "
        f"{root / 'codes'}/"
    )
    print("\n".join(codes_list(codes)))
    camera = camera_setting(root, mode)
    kiosk_config(cfg, camera)
    wait(f"{cfg.stem} to have the campaigns, keys and the order", device_ready(cfg, codes), 60)
    before = score_of(admin, marketer, codes.recipient_id)
    if mode == "window":
        print("\n".join(how_to_use(root, codes, pin, camera)), flush=True)
    run = run_kiosk(root, py, cfg, codes, pin, staff_name, mode)
    lines = script_summary(run, codes, cfg.stem) if run.result else []
    wait_for_central(admin, shop, codes, run, cfg.stem, wait)
    return lines + kiosk_report(admin, marketer, shop, codes, run, before, cfg.stem, STORE)
