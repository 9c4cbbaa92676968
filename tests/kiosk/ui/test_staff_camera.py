"""The pickup desk scanning with the kiosk's own camera, in the real app: the camera is
an image folder (``kiosk.camera = "file:DIR"``) holding real QR frames of signed pickup
codes (central's QR writer, the key the kiosk's edge.db trusts), which the script fills
before the desk shows. Staff unlock by taps, the desk reads the code, the order's lines
and initials show, Hand over records one ``pickup.confirmed``; back at the desk with the
code still in view, the second read says it was handed over and records nothing. A
code of another store and an expired one are refused in plain words; without a camera
(or with a broken one) the desk says so and the hand scanner and typing still work.
Screens go to ``screenshots/staff/`` (not committed)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.edge.pickups.helpers import SIGNER, STAFF
from tests.kiosk.controllers.conftest import ORDER, STORE, make_kiosk

from .conftest import UiKiosk
from .test_scanflow import _frames
from .test_staff import REFUSED_ORDER, SHOTS, events, ready_today

OTHER_STORE_ORDER, EXPIRED_ORDER = "o-1003", "o-1004"


@dataclass
class Desk:
    ui: UiKiosk
    frames: Path
    cam: Path


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    """The staff kiosk with two orders ready today, and a frame folder per code: the
    order's code after a few empty frames (``order``), the same code alone (``held``:
    it never leaves the view), the second order's code, another store's and an
    expired one."""
    k = make_kiosk(tmp_path)
    k.c.close()
    k.client.close()
    code = ready_today(k.db_path, ORDER, 2)
    second = ready_today(k.db_path, REFUSED_ORDER, 1)
    today = date.today()
    other_store = SIGNER.sign(
        "o", OTHER_STORE_ORDER, store_id="s099",
        not_before=today, not_after=today + timedelta(days=8),
    )  # fmt: skip
    expired = SIGNER.sign(
        "o", EXPIRED_ORDER, store_id=STORE,
        not_before=today - timedelta(days=30), not_after=today - timedelta(days=3),
    )  # fmt: skip
    frames = tmp_path / "frames"
    _frames(frames / "order", SIGNER.url(code), seed=1, lead=6)
    _frames(frames / "held", SIGNER.url(code), seed=2, lead=0)
    _frames(frames / "second", SIGNER.url(second), seed=3, lead=0)
    _frames(frames / "other_store", SIGNER.url(other_store), seed=4, lead=0)
    _frames(frames / "expired", SIGNER.url(expired), seed=5, lead=0)
    _frames(frames / "blank", None, seed=6, lead=10)
    cam = tmp_path / "cam"
    cam.mkdir()
    return Desk(UiKiosk(k.config, tmp_path, code, k.db_path), frames, cam)


def _use_camera(desk: Desk, setting: str) -> None:
    with desk.ui.config.open("a") as f:
        f.write(f'[kiosk]\ncamera = "{setting}"\n')


#: the script's helpers: the camera's frames, the hold, the PIN by taps, the desk
PRELUDE = """
import shutil
from pathlib import Path
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kiosk.i18n import text
from kiosk.shots import layout_problems
from tests.kiosk.ui.waits import drawn

FRAMES, CAM, LANG, PIN = Path({frames!r}), Path({cam!r}), {lang!r}, {pin!r}
t = lambda key, **f: text(key, LANG).format(**f) if f else text(key, LANG)
s = k.screen("staff")
settled = lambda: not k.app.manager.transition.is_active
# a panel drawn: laid out, so taps land on its buttons, and its texts are its own
shown = lambda mode, also=lambda: True: drawn(
    lambda: settled() and k.current == "staff" and s.mode == mode and also())

def use(name):
    # the worker that read the folder before is stopped: it may read no more of it
    for p in CAM.iterdir():
        p.unlink()
    for p in sorted((FRAMES / name).iterdir()):
        shutil.copy(p, CAM / p.name)

def worker():
    return s.desk_camera.worker

def scanner():
    w = s.desk_camera.worker
    return w.scanner if w is not None else None

def preview_live():
    return s.mode == "desk" and s._panels["desk"].ids.preview.texture is not None

def unlock_to_desk():
    yield k.until(lambda: settled() and k.current == "home", 10, "the home screen")
    yield k.until(drawn(lambda: settled() and k.current == "home"
                        and k.app.corner.collide_point(20, Window.height - 20)), 5,
                  "home drawn, the staff corner laid out at the top left")
    if LANG == "de":
        k.tap_text("Deutsch")
        yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
    finger = UnitTestTouch(20, Window.height - 20)
    finger.touch_down()
    yield k.until(lambda: settled() and s.mode == "who" and k.current == "staff", 5, "the names")
    finger.touch_up()
    yield k.until(shown("who"), 5, "the names drawn")
    k.tap_text("Anna Berg")
    yield k.until(lambda: settled() and s.mode == "pin", 5, "the PIN pad")
    for d in PIN:
        k.tap_text(d)
    k.tap_text(t("staff_ok"))
    yield k.until(lambda: settled() and s.mode == "menu", 5, "the staff menu")
    yield k.until(shown("menu"), 5, "the staff menu drawn")
    k.result["worker_on_menu"] = worker() is not None
    k.tap_text(t("staff_menu_pickup"))
    yield k.until(lambda: settled() and s.mode == "desk", 5, "the desk")
"""


def _script(desk: Desk, body: str, lang: str = "en") -> str:
    import textwrap

    prelude = PRELUDE.format(
        frames=str(desk.frames), cam=str(desk.cam), lang=lang, pin=STAFF["anna"][1]
    )
    return prelude + textwrap.dedent(body)


def _keep_shots(run: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for png in run.out.glob("*.png"):
        shutil.copy(png, SHOTS / png.name)


def test_the_desk_camera_opens_the_order_hands_it_over_once_and_frees_the_camera(
    desk: Desk,
) -> None:
    _use_camera(desk, f"file:{desk.cam}")
    run = desk.ui.run(
        _script(
            desk,
            """
        use("order")
        yield from unlock_to_desk()
        yield k.until(preview_live, 10, "the live preview on the desk")
        k.result["desk_texts"] = k.texts()
        k.result["desk_problems"] = layout_problems(s)
        yield k.shot("camera-desk-portrait-en")

        # the code comes into view after the empty frames: the order opens by itself
        yield k.until(lambda: settled() and s.mode == "order", 10, "the scanned order")
        yield k.until(shown("order"), 5, "the scanned order drawn")
        k.result["order_texts"] = k.texts()
        k.result["worker_on_order"] = worker() is not None
        k.result["preview_cleared"] = s._panels["desk"].ids.preview.texture is None
        yield k.shot("camera-order-portrait-en")
        use("held")  # the customer keeps the code up to the camera from now on
        k.tap_text(t("staff_hand_over"))
        yield k.until(lambda: settled() and s.mode == "done", 5, "handed over")
        k.result["done"] = s.message
        k.result["worker_on_done"] = worker() is not None

        # back at the desk, the code still in view: read once more, refused, no loop
        k.tap_text(t("staff_next"))
        yield k.until(lambda: settled() and s.mode == "desk", 5, "the desk again")
        yield k.until(lambda: s.problem, 10, "the second read refused")
        k.result["again"] = s.message
        k.result["again_texts"] = k.texts()
        yield k.shot("camera-already-portrait-en")
        sc = scanner()
        decoded = sc.stats.frames_decoded
        yield k.until(lambda: sc.stats.frames_decoded >= decoded + 20, 10, "20 more frames")
        k.result["reported_while_in_view"] = sc.stats.reported
        k.result["mode_after"] = s.mode
        k.result["step_after"] = k.controllers.pickup.step.value

        # the second order: opened by its code, then left without a handover; its code,
        # still in view, does not open it again
        k.tap_text(t("staff_menu"))
        yield k.until(lambda: settled() and s.mode == "menu", 5, "the menu")
        k.result["worker_on_menu_again"] = worker() is not None
        use("second")
        k.tap_text(t("staff_menu_pickup"))
        yield k.until(lambda: settled() and s.mode == "order", 10, "the second order")
        k.result["second_title"] = s.order_title
        k.tap_text(t("staff_back_desk"))
        yield k.until(lambda: settled() and s.mode == "desk", 5, "the desk after Back")
        yield k.until(lambda: scanner() is not None and scanner().stats.reported >= 1
                      and s.desk_camera.passing_over is None, 10, "the code read and passed over")
        k.result["after_back"] = (s.mode, k.controllers.pickup.step.value)

        # leaving the staff screens lets the camera go
        k.tap_text(t("staff_menu"))
        yield k.until(lambda: settled() and s.mode == "menu", 5, "the menu")
        k.tap_text(t("staff_lock"))
        yield k.until(lambda: settled() and k.current == "home", 5, "home")
        k.result["worker_at_home"] = worker() is not None
    """,
        )
    )
    _keep_shots(run)
    r = run.result
    assert r["desk_problems"] == []
    assert any(t.startswith("Hello Anna Berg.") for t in r["desk_texts"])
    assert f"Order {ORDER} · J.D." in r["order_texts"]
    assert "1× Trail shoe" in r["order_texts"] and "2× Sock" in r["order_texts"]
    assert not r["worker_on_menu"] and not r["worker_on_order"] and not r["worker_on_done"]
    assert r["preview_cleared"]  # no frame of this customer waits in the preview
    assert r["done"] == f"Order {ORDER} is handed over. Thank you!"
    assert r["again"].startswith(f"Order {ORDER} was already handed over at ")
    assert r["again"].endswith("by Anna Berg. Do not hand it over again.")
    assert r["reported_while_in_view"] == 1
    assert (r["mode_after"], r["step_after"]) == ("desk", "ready")
    assert not r["worker_on_menu_again"]
    assert r["second_title"] == f"Order {REFUSED_ORDER} · J.D."
    assert r["after_back"] == ["desk", "ready"]
    assert not r["worker_at_home"]

    confirmed = events(desk.ui.db_path, "pickup.confirmed")
    assert [e["data"]["order_id"] for e in confirmed] == [ORDER]  # once, not twice
    assert confirmed[0]["data"]["method"] == "qr" and confirmed[0]["data"]["staff_id"] == "anna"
    assert confirmed[0]["data"]["token_hash"] == desk.ui.order_code.token_hash
    assert events(desk.ui.db_path, "pickup.refused") == []


REFUSALS = {
    "en": {
        "other_store": f"Order {OTHER_STORE_ORDER} is waiting at another store, not this one.",
        "expired": f"This pickup code has expired. Ask the back office about order "
        f"{EXPIRED_ORDER}.",
        "hint": "Hold the customer's pickup code in the frame, or type the order id.",
    },
    "de": {
        "other_store": f"Bestellung {OTHER_STORE_ORDER} liegt in einer anderen Filiale, nicht "
        "in dieser.",
        "expired": f"Dieser Abholcode ist abgelaufen. Bitte im Backoffice nach Bestellung "
        f"{EXPIRED_ORDER} fragen.",
        "hint": "Abholcode der Kundin oder des Kunden in den Rahmen halten oder Bestellnummer "
        "eintippen.",
    },
}


@pytest.mark.parametrize(("lang", "landscape"), [("en", True), ("de", False), ("de", True)])
def test_another_stores_and_an_expired_code_are_refused_in_plain_words(
    desk: Desk, lang: str, landscape: bool
) -> None:
    orient = "landscape" if landscape else "portrait"
    _use_camera(desk, f"file:{desk.cam}")
    run = desk.ui.run(
        _script(
            desk,
            f"""
        use("blank")
        yield from unlock_to_desk()
        yield k.until(preview_live, 10, "the live preview on the desk")
        yield k.until(shown("desk", preview_live), 5, "the desk drawn")
        k.result["problems"] = layout_problems(s)
        yield k.shot("camera-desk-{orient}-{lang}")
        for name in ("other_store", "expired"):
            k.tap_text(t("staff_menu"))
            yield k.until(lambda: settled() and s.mode == "menu", 5, "the menu")
            use(name)
            before = s.message
            k.tap_text(t("staff_menu_pickup"))
            yield k.until(lambda: settled() and s.mode == "desk" and s.message != before, 10, name)
            yield k.until(shown("desk", lambda: s.message != before), 5, name + " drawn")
            k.result[name] = s.message
            k.result[name + "_texts"] = k.texts()
            k.result[name + "_problems"] = layout_problems(s)
            k.result[name + "_guide_red"] = s._panels["desk"].ids.preview.refused
            yield k.shot(f"camera-{{name}}-{orient}-{lang}")
    """,
            lang,
        ),
        landscape=landscape,
    )
    _keep_shots(run)
    r, want = run.result, REFUSALS[lang]
    assert r["problems"] == [] and r["other_store_problems"] == [] and r["expired_problems"] == []
    for name in ("other_store", "expired"):
        assert r[name] == want[name]
        assert want[name] in r[name + "_texts"] and want["hint"] in r[name + "_texts"]
        assert r[name + "_guide_red"]
    assert events(desk.ui.db_path, "pickup.confirmed") == []


@pytest.mark.parametrize(
    ("setting", "key"), [("none", "staff_camera_none"), ("file:missing", "staff_camera_off")]
)
def test_without_a_working_camera_the_desk_says_so_and_the_hand_scanner_works(
    desk: Desk, setting: str, key: str
) -> None:
    camera = setting if setting == "none" else f"file:{desk.ui.tmp / 'no-such-folder'}"
    _use_camera(desk, camera)
    run = desk.ui.run(
        _script(
            desk,
            f"""
        yield from unlock_to_desk()
        yield k.until(lambda: s.camera_problem == {key!r}, 10, "the camera's message")
        yield k.until(shown("desk", lambda: s.camera_problem == {key!r}), 5,
                      "the camera's message drawn")
        k.result["texts"] = k.texts()
        k.result["problems"] = layout_problems(s)
        k.result["preview_shown"] = s._panels["desk"].ids.preview.opacity
        yield k.shot("camera-{key}-portrait-en")
        Window.dispatch("on_textinput", {desk.ui.order_code.text!r})
        Window.dispatch("on_key_down", 13, 36, "", [])
        yield k.until(lambda: settled() and s.mode == "order", 5, "the order by hand scanner")
        k.result["order"] = s.order_title
    """,
        )
    )
    _keep_shots(run)
    r = run.result
    message = {
        "staff_camera_none": "This kiosk has no camera: scan the pickup code with the hand "
        "scanner, or type the order id.",
        "staff_camera_off": "The camera is not working right now: scan the pickup code with "
        "the hand scanner, or type the order id.",
    }[key]
    assert message in r["texts"]
    assert r["problems"] == [] and r["preview_shown"] == 0
    assert r["order"] == f"Order {ORDER} · J.D."
