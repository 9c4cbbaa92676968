"""``make demo``'s scripted visit, when there is no display: a shopper scans the flyer
that came in the post, answers the consent prompt and rates the visit, searches a
product by the on-screen keyboard and opens it; then a staff member holds the corner,
unlocks the desk with the PIN, and hands over an order whose code the customer shows
the camera. Every step is a real touch on the real app (``kiosk.script``); a
screenshot of each screen goes to the ``--out`` folder.

The demo gives the script its material in a JSON file named by ``OMK_DEMO_SHOPPER``:
``camera`` (the folder the kiosk's camera reads), ``frames`` (a folder of frames per
code, ``blank`` among them), ``flyer`` and ``pickup`` (which of them), ``pin``, ``staff_name``, ``query`` and ``order_id``. ``k.result`` records what
the screens said, for the demo's report.

Run as ``python main.py kiosk --config FILE --script kiosk/demo_shopper.py --out DIR``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.i18n import text


def show_camera(frames: Path, camera: Path) -> None:
    """The camera (a folder) shows ``frames`` from its next start, as a code held up."""
    for p in camera.iterdir():
        p.unlink()
    for p in sorted(frames.iterdir()):
        shutil.copy(p, camera / p.name)


def script(k: Any) -> Iterator[Any]:
    from kivy.core.window import Window

    from kiosk.finger import Finger

    params = json.loads(Path(os.environ["OMK_DEMO_SHOPPER"]).read_text(encoding="utf-8"))
    camera, frames = Path(params["camera"]), Path(params["frames"])
    lang = k.controllers.session.lang

    def t(key: str) -> str:
        return text(key, lang)

    def settled() -> bool:
        return not k.app.manager.transition.is_active

    def on(screen: str) -> bool:
        return k.current == screen and settled()

    yield k.until(lambda: on("home"), 20, "the home screen")
    home = k.controllers.home
    yield k.until(lambda: any(c.campaign_id for c in home.cards()), 20, "the campaigns' offers")
    yield k.sleep(1.0)  # the first offer's visual fades in
    k.result["home"] = k.texts()
    yield k.shot("01-home")

    # -- the shopper: the flyer from the post ----------------------------------------------
    show_camera(frames / params["flyer"], camera)
    k.tap(k.find("home", "scan_button"))
    yield k.until(lambda: on("scan") and k.find("scan", "preview").texture is not None, 10,
                  "the camera preview")  # fmt: skip
    yield k.shot("02-scan")
    yield k.until(lambda: on("welcome"), 20, "the welcome screen after the flyer's code")
    yield k.sleep(0.5)
    k.result["welcome"] = k.texts()
    yield k.shot("03-welcome")
    welcome = k.screen("welcome")
    if welcome.asks_consent:
        k.tap(k.find("welcome", "consent_yes"))
        yield k.until(lambda: not welcome.asks_consent, 5, "the consent answer")
        k.result["consent"] = k.texts()
    k.tap(k.find("welcome", "done"))
    yield k.until(lambda: on("feedback"), 5, "the feedback screen")
    yield k.sleep(0.3)
    yield k.shot("04-feedback")
    k.tap_text(t("rating_5"))
    yield k.until(lambda: k.screen("feedback").step == "reason", 5, "the reasons")
    k.tap(k.find("feedback", "chip_0"))
    yield k.until(lambda: k.screen("feedback").step == "thanks", 5, "thank you")
    k.result["feedback"] = k.texts()
    yield k.until(lambda: on("home"), 10, "home after the feedback")

    # -- the shopper again: finding a product ----------------------------------------------
    k.tap(k.find("home", "search_button"))
    yield k.until(lambda: on("search"), 5, "the search screen")
    kb = k.find("search", "keyboard")
    yield k.until(lambda: kb.open and settled(), 5, "the keyboard")
    for ch in params["query"]:
        k.tap(kb.key_for(ch if ch != " " else "space"))
    results = k.find("search", "results")
    yield k.until(lambda: len(results.children) > 0, 10, f"results for {params['query']!r}")
    yield k.sleep(0.4)
    rows = list(reversed(results.children))
    k.result["search"] = [[r.row.sku, r.name, r.state_text] for r in rows]
    yield k.shot("05-search")
    k.tap(rows[0])
    yield k.until(lambda: on("product"), 5, "the product page")
    yield k.sleep(0.5)
    k.result["product"] = k.texts()
    yield k.shot("06-product")
    k.tap(k.find("product", "back"))
    yield k.until(lambda: on("search"), 5, "back to the search")
    k.tap(k.find("search", "back"))
    yield k.until(lambda: on("home"), 5, "home")

    # -- staff: the pickup desk -------------------------------------------------------------
    show_camera(frames / params["pickup"], camera)
    staff = k.screen("staff")
    finger = Finger(20, Window.height - 20)  # the hidden gesture: hold the corner
    finger.down()
    yield k.until(lambda: on("staff"), 6, "the staff screen after the corner hold")
    finger.up()
    yield k.until(lambda: staff.mode in ("who", "pin"), 5, "the PIN prompt")
    if staff.mode == "who":
        k.tap_text(params["staff_name"])
        yield k.until(lambda: staff.mode == "pin" and settled(), 5, "the PIN pad")
    yield k.sleep(0.3)
    for d in params["pin"]:
        k.tap_text(d)
    yield k.shot("07-staff-pin")
    k.tap_text(t("staff_ok"))
    yield k.until(lambda: staff.mode == "menu" and settled(), 10, "the staff menu")
    k.tap_text(t("staff_menu_pickup"))
    yield k.until(lambda: staff.mode == "desk" and settled(), 5, "the desk")
    desk = staff.ids.body.children[0]
    yield k.until(lambda: desk.ids.preview.texture is not None, 5, "the desk's camera preview")
    yield k.shot("08-desk")
    # the customer holds up the order's code: the desk's camera reads it
    yield k.until(lambda: staff.mode == "order" and settled(), 15, "the order from its code")
    yield k.sleep(0.3)
    k.result["order"] = [staff.order_title, staff.items_text, *(text for text, _sku in staff.lines)]
    yield k.shot("09-order")
    k.tap_text(t("staff_hand_over"))
    yield k.until(lambda: staff.mode == "done" and settled(), 5, "the handover")
    yield k.sleep(0.3)
    k.result["handed_over"] = staff.message
    yield k.shot("10-handed-over")
    k.tap_text(t("staff_menu"))
    yield k.until(lambda: staff.mode == "menu" and settled(), 5, "the staff menu")
    k.tap_text(t("staff_menu_status"))
    yield k.until(lambda: on("status"), 5, "the device status")
    yield k.sleep(0.5)
    k.result["status"] = k.texts()
    yield k.shot("11-status")
    k.tap_text(t("back"))
    yield k.until(lambda: on("staff") and staff.mode == "menu", 5, "the staff menu again")
    show_camera(frames / "blank", camera)
    staff.cancel()  # the desk locks; the next shopper sees home
    yield k.until(lambda: on("home"), 5, "home for the next shopper")
    k.result["end"] = k.current
