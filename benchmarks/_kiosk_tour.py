"""``kiosk_ui``'s memory run: a scripted person tours every screen of the real app, by
touch, over and over (``main.py kiosk --script benchmarks/_kiosk_tour.py``).

One cycle: the language switched to German and back on home; "Scan your code" with a
profile code held up to the camera (a few empty frames, then the code; the camera an
MJPG recording, whose JPEG frames Pillow decodes as it does a USB camera's MJPEG, with
the V4L2 module a camera is read through loaded too; or an image folder) → welcome
→ consent answered once → "Done" → feedback: a face, a reason → thank you; the idle
reset; "Find a product", the query typed key by key on the on-screen keyboard, the
first result opened, back, back; every other cycle the staff corner held, the PIN
typed on its pad, the pickup desk (its camera preview), the device status, the desk
locked again; then the idle reset. Each cycle uses the next of
a few codes and queries. The script reads its material from the JSON file named by
``OMK_BENCH_TOUR`` (``prepare`` writes both) and records ``cycles`` in the result.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PIN = "482913"
STAFF_NAME = "Ann"
CODES = 5


def prepare(
    tmp: Path, config: Path, queries: list[str], seconds: float, video: bool = True
) -> tuple[Path, dict]:
    """The device's keys for the codes, the codes' camera frames, and a device config
    whose camera is an MJPG recording (``video``: its frames decoded as a USB camera's
    MJPEG is) or an image folder (read with Pillow); returns (that config, the
    environment to run with)."""
    from benchmarks._kiosk_scan_screen import camera_device

    name = "tour" if video else "tour-folder"
    tour_config, frames, cam = camera_device(tmp, config, CODES, name, video=video)
    params = tmp / f"{name}.json"
    params.write_text(json.dumps({
        "frames": str(frames), "camera": str(cam), "video": video, "duration": seconds,
        "queries": [q for q in queries if q.isascii() and q.replace(" ", "").isalnum()][:20],
    }))  # fmt: skip
    return tour_config, {"OMK_BENCH_TOUR": str(params)}


def script(k: Any) -> Iterator[Any]:
    from kiosk.demo_shopper import show_camera

    params = json.loads(Path(os.environ["OMK_BENCH_TOUR"]).read_text())
    if params["video"]:
        # a USB camera's MJPEG comes through V4L2 (kiosk/camera/device.py): its module
        # is loaded here, so that its memory counts, as on a kiosk with a camera
        import linuxpy.video.device  # noqa: F401
    frames, camera = Path(params["frames"]), Path(params["camera"])
    queries: list[str] = params["queries"]
    c = k.controllers
    yield k.until(lambda: _on(k, "home"), 30, "the home screen")
    end = time.monotonic() + params["duration"]
    cycles = 0
    while time.monotonic() < end:
        # each part in its own generator: no screen stays referenced from here once
        # the app drops it at the reset (that would keep its widgets alive)
        yield from _language(k)
        code = frames / f"c{cycles % CODES:03d}"
        if params["video"]:  # the next recording where the camera reads (it is closed)
            shutil.copy(code.with_suffix(".avi"), camera)
        else:
            show_camera(code, camera)
        yield from _scan(k, cycles)
        c.session.reset("timeout")
        yield k.until(lambda: _on(k, "home"), 5, "home after the reset")
        yield from _search(k, queries[cycles % len(queries)])
        if cycles % 2 == 0:
            yield from _staff(k)
        c.session.reset("timeout")
        yield k.until(lambda: _on(k, "home"), 5, "home after the reset")
        cycles += 1
    k.result["cycles"] = cycles


def _on(k: Any, screen: str) -> bool:
    return k.current == screen and not k.app.manager.transition.is_active


def _t(k: Any, key: str) -> str:
    from kiosk.i18n import text

    return text(key, k.controllers.session.lang)


def _language(k: Any) -> Iterator[Any]:
    session = k.controllers.session
    k.tap_text("Deutsch")
    yield k.until(lambda: session.lang == "de", 5, "German")
    k.tap_text("English")
    yield k.until(lambda: session.lang == "en", 5, "English")


def _scan(k: Any, cycle: int) -> Iterator[Any]:
    """A code held up to the camera, welcome (consent answered), feedback."""
    k.tap(k.find("home", "scan_button"))
    yield k.until(lambda: _on(k, "welcome"), 20, "the welcome screen after the code")
    welcome = k.screen("welcome")
    if welcome.asks_consent:
        k.tap(k.find("welcome", "consent_yes"))
        yield k.until(lambda: not welcome.asks_consent, 5, "the consent answer")
    k.tap(k.find("welcome", "done"))
    yield k.until(lambda: _on(k, "feedback"), 5, "the feedback screen")
    feedback = k.screen("feedback")
    k.tap_text(_t(k, f"rating_{1 + cycle % 5}"))
    yield k.until(lambda: feedback.step in ("reason", "thanks"), 5, "the reasons")
    if feedback.step == "reason":
        k.tap(k.find("feedback", "chip_0"))
    yield k.until(lambda: feedback.step == "thanks", 5, "thank you")


def _search(k: Any, query: str) -> Iterator[Any]:
    """A product found by the on-screen keyboard: typed, the first result, back."""
    k.tap(k.find("home", "search_button"))
    yield k.until(lambda: _on(k, "search"), 5, "the search screen")
    kb = k.find("search", "keyboard")
    yield k.until(lambda: kb.open, 5, "the keyboard")
    for ch in query.lower():
        k.tap(kb.key_for(ch if ch != " " else "space"))
        yield k.until(lambda: True, 1, "the next key")  # one frame between keys
    search = k.controllers.search
    yield k.until(lambda: search.state.value != "typing", 5, f"results for {query!r}")
    results = k.find("search", "results")
    if results.children:
        k.tap(results.children[-1])  # the top row
        yield k.until(lambda: _on(k, "product"), 5, "the product page")
        k.tap(k.find("product", "back"))
        yield k.until(lambda: _on(k, "search"), 5, "back to the search")
    k.tap(k.find("search", "back"))
    yield k.until(lambda: _on(k, "home"), 5, "home")


def _staff(k: Any) -> Iterator[Any]:
    """The corner held, the PIN, the desk's camera, the device status, locked again."""
    from kivy.core.window import Window

    from kiosk.finger import Finger

    staff = k.screen("staff")
    finger = Finger(20, Window.height - 20)
    finger.down()
    yield k.until(lambda: _on(k, "staff"), 6, "the staff screen after the corner hold")
    finger.up()
    yield k.until(lambda: staff.mode in ("who", "pin"), 5, "the PIN prompt")
    if staff.mode == "who":
        k.tap_text(STAFF_NAME)
        yield k.until(lambda: staff.mode == "pin", 5, "the PIN pad")
    for d in PIN:
        k.tap_text(d)
    k.tap_text(_t(k, "staff_ok"))
    yield k.until(lambda: staff.mode == "menu" and _on(k, "staff"), 10, "the staff menu")
    k.tap_text(_t(k, "staff_menu_pickup"))
    yield k.until(lambda: staff.mode == "desk", 5, "the desk")
    desk = staff.ids.body.children[0]
    yield k.until(lambda: desk.ids.preview.texture is not None, 5, "the desk's preview")
    k.tap_text(_t(k, "staff_menu"))
    yield k.until(lambda: staff.mode == "menu", 5, "the staff menu")
    k.tap_text(_t(k, "staff_menu_status"))
    yield k.until(lambda: _on(k, "status"), 5, "the device status")
    k.tap_text(_t(k, "back"))
    yield k.until(lambda: _on(k, "staff") and staff.mode == "menu", 5, "the staff menu")
    staff.cancel()
    yield k.until(lambda: _on(k, "home"), 5, "home after the staff")
