"""The staff screens in the real app: the hidden corner hold opens the PIN prompt, a
wrong PIN says how many tries are left, the right one opens the staff menu; at the
pickup desk a typed order id shows the order's lines and initials, Hand over records
``pickup.confirmed``, a second attempt is refused with when and by whom; a code from a
keyboard-like scanner opens an order that is refused with a reason (``pickup.refused``);
the device status page shows its rows. Screenshots in both orientations and languages
go to ``screenshots/staff/`` (not committed).

The controller tests' kiosk has its order and code made for a fixed test day; the app
runs on the wall clock, so this kiosk's orders are made ready today."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_sync.pickups import apply_upserts
from edge_sync.protocol.ids import format_ts
from tests.edge.pickups.helpers import SIGNER, STAFF, upsert
from tests.kiosk.controllers.conftest import ORDER, STORE, make_kiosk

from .conftest import ROOT, UiKiosk

REFUSED_ORDER = "o-1002"
SHOTS = ROOT / "screenshots" / "staff"


def ready_today(db_path: Path, order_id: str, revision: int) -> object:
    """``order_id`` ready for pickup since yesterday, its code valid from today."""
    now = datetime.now(UTC)
    today = now.date()
    token = SIGNER.sign(
        "o", order_id, store_id=STORE, not_before=today, not_after=today + timedelta(days=8)
    )
    doc = upsert(
        order_id, revision, code_hash=token.token_hash,
        placed_at=format_ts(now - timedelta(days=2)), ready_at=format_ts(now - timedelta(days=1)),
        collect_by=format_ts(now + timedelta(days=6)),
    )  # fmt: skip
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        assert apply_upserts(conn, [doc], now).stored == 1
        conn.execute("COMMIT")
    finally:
        conn.close()
    return token


@pytest.fixture
def staff_ui(tmp_path: Path) -> UiKiosk:
    k = make_kiosk(tmp_path)
    k.c.close()
    k.client.close()
    ready_today(k.db_path, ORDER, 2)  # the fixture's order, ready again for today
    code = ready_today(k.db_path, REFUSED_ORDER, 1)
    return UiKiosk(k.config, tmp_path, code, k.db_path)


def events(db_path: Path, type_: str) -> list[dict]:
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT payload FROM outbox WHERE type = ?", (type_,)).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0]) for r in rows]


#: the whole flow, in LANG; shots named <what>-<ORIENT>-<LANG>
FLOW = """
import time
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kiosk.i18n import text
from tests.kiosk.ui.waits import drawn

LANG, ORIENT, CODE = {lang!r}, {orient!r}, {code!r}
t = lambda key, **f: text(key, LANG).format(**f) if f else text(key, LANG)
s = k.screen("staff")
panel = lambda: s.ids.body.children[0]
shot = lambda what: k.shot(f"{{what}}-{{ORIENT}}-{{LANG}}")
# a screen manager in a transition takes no touch: wait for it to settle as well
settled = lambda: not k.app.manager.transition.is_active
# a panel drawn: laid out, so taps land on its buttons, and its texts are its own
shown = lambda mode: drawn(lambda: settled() and k.current == "staff" and s.mode == mode)
corner = k.app.corner
in_corner = lambda: corner.collide_point(20, Window.height - 20)

yield k.until(lambda: settled() and (k.current == "home"), 10, "the home screen")
yield k.until(drawn(lambda: settled() and k.current == "home" and in_corner()), 5,
              "home drawn, the staff corner laid out at the top left")
if LANG == "de":
    k.tap_text("Deutsch")
    yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")

# a short hold (1.5 s) in the corner does nothing; a 3 s one opens the PIN prompt
finger = UnitTestTouch(20, Window.height - 20)
finger.touch_down()
pressed = time.monotonic()
# the finger stays down 1.5 s, short of the gesture's 3 s: time passing is what is tested
yield k.sleep(1.5)
k.result["after_1_5_s"] = k.current
k.result["short_hold_s"] = time.monotonic() - pressed
k.result["gesture_hold_s"] = corner.hold_s
finger.touch_up()
yield k.until(lambda: corner._touch is None and not corner._timer.is_triggered, 5,
              "the corner to let go of the short hold")
finger = UnitTestTouch(20, Window.height - 20)
finger.touch_down()
yield k.until(lambda: settled() and (k.current == "staff"), 5, "the staff screen after the hold")
yield k.until(drawn(lambda: settled() and k.current == "staff"), 5,
              "the staff screen drawn under the finger")
finger.touch_up()
yield k.until(lambda: settled() and (k.current == "staff" and s.mode == "who"), 5, "the staff names")
yield k.until(shown("who"), 5, "the staff names drawn")
k.result["who"] = k.texts()
yield shot("who")
k.tap_text("Anna Berg")
yield k.until(lambda: settled() and (s.mode == "pin"), 5, "the PIN pad")
yield k.until(shown("pin"), 5, "the PIN pad drawn")

for d in "000000":
    k.tap_text(d)
yield k.until(drawn(lambda: len(k.controllers.pickup.pin) == 6), 5, "six digits shown")
k.result["mask"] = panel().ids.dots.text
k.tap_text(t("staff_ok"))
k.result["ok_at_once"] = panel().ids.ok.text  # before the worker answers
yield k.until(lambda: s.message and not s.checking, 5, "the wrong PIN's answer")
k.result["wrong"] = s.message
yield shot("pin")

for d in {pin!r}:
    k.tap_text(d)
k.tap_text(t("staff_ok"))
yield k.until(lambda: settled() and (s.mode == "menu"), 5, "the staff menu")
yield k.until(shown("menu"), 5, "the staff menu, drawn")
k.result["menu"] = k.texts()
yield shot("menu")
k.tap_text(t("staff_menu_pickup"))
yield k.until(lambda: settled() and (s.mode == "desk"), 5, "the desk")
yield k.until(shown("desk"), 5, "the desk, drawn")
yield shot("desk")

for ch in {order!r}:
    k.tap_text(ch)
k.result["typed"] = s.typed
k.tap_text(t("staff_find"))
yield k.until(lambda: settled() and (s.mode == "order"), 5, "the order")
yield k.until(shown("order"), 5, "the order, drawn")
k.result["order"] = k.texts()
yield shot("order")
k.tap_text(t("staff_hand_over"))
yield k.until(lambda: settled() and (s.mode == "done"), 5, "handed over")
yield k.until(shown("done"), 5, "handed over, drawn")
k.result["done"] = k.texts()
tick = s._panels["done"].ids.handed_tick
k.result["tick_done"] = (s.handed, tick.opacity, tick.ids.icon.width > 100)
yield shot("done")
k.tap_text(t("staff_next"))
yield k.until(lambda: settled() and (s.mode == "desk"), 5, "the desk again")
yield k.until(shown("desk"), 5, "the desk again, drawn")

for ch in {order!r}:
    k.tap_text(ch)
k.tap_text(t("staff_find"))
yield k.until(lambda: s.problem, 5, "the second attempt refused")
yield k.until(drawn(lambda: settled() and s.problem), 5, "the refusal drawn")
k.result["again"] = s.message
k.result["again_mode"] = s.mode
yield shot("already")

# the customer's code, as a keyboard-like scanner types it, then Enter
Window.dispatch("on_textinput", CODE)
Window.dispatch("on_key_down", 13, 36, "", [])
yield k.until(lambda: settled() and (s.mode == "order"), 5, "the scanned order")
yield k.until(shown("order"), 5, "the scanned order, drawn")
k.result["scanned"] = s.order_title
k.tap_text(t("staff_refuse"))
yield k.until(lambda: settled() and (s.mode == "refuse"), 5, "the reasons")
yield k.until(shown("refuse"), 5, "the reasons, drawn")
yield shot("reasons")
k.tap_text(t("refuse_customer_absent"))
yield k.until(lambda: settled() and (s.mode == "done"), 5, "refused")
yield k.until(shown("done"), 5, "refused, drawn")
k.result["refused"] = s.message
k.result["tick_refused"] = (s.handed, s._panels["done"].ids.handed_tick.opacity)
yield shot("refused")

k.tap_text(t("staff_menu"))
yield k.until(lambda: settled() and (s.mode == "menu"), 5, "the menu")
yield k.until(shown("menu"), 5, "the menu, drawn")
k.tap_text(t("staff_menu_status"))
yield k.until(lambda: settled() and (k.current == "status"), 5, "the status page")
yield k.until(drawn(lambda: settled() and k.current == "status"), 5, "the status page drawn")
k.result["status"] = k.texts()
yield shot("status")
k.tap_text(t("back"))
yield k.until(lambda: settled() and (k.current == "staff" and s.mode == "menu"), 5, "the menu again")
yield k.until(shown("menu"), 5, "the menu again, drawn")

# exit: the first tap only asks again; the second stops the app (recorded here, so the
# script can still write its result)
k.tap_text(t("staff_menu_exit"))
k.result["exit_armed"] = s.exit_armed
k.app.stop = lambda *_a: k.result.__setitem__("stopped", True)
try:
    k.tap_text(t("staff_exit_again"))
finally:
    del k.app.stop  # the class's own again, for the end of the script
k.result["home_after_exit"] = k.controllers.pickup.step.value
"""


def run_flow(ui: UiKiosk, lang: str, landscape: bool) -> object:
    orient = "landscape" if landscape else "portrait"
    script = FLOW.format(
        lang=lang, orient=orient, code=ui.order_code.text, pin=STAFF["anna"][1], order=ORDER
    )
    run = ui.run(script, landscape=landscape)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for png in run.out.glob("*.png"):
        shutil.copy(png, SHOTS / png.name)
    return run


def test_staff_hold_pin_desk_hand_over_refuse_and_status(staff_ui: UiKiosk) -> None:
    run = run_flow(staff_ui, "en", landscape=False)
    r = run.result
    assert r["after_1_5_s"] == "home"  # a short press is not the gesture
    assert 1.5 <= r["short_hold_s"] < r["gesture_hold_s"]  # held, and short of the gesture
    assert "Anna Berg" in r["who"] and "Ben Ode" in r["who"]
    assert r["mask"] == "••••••"
    assert r["ok_at_once"] == "Checking…"  # the key said "Unlock" before
    assert r["wrong"] == "Wrong PIN. 4 tries left."
    assert "Staff: Anna Berg" in r["menu"] and "Exit kiosk" in r["menu"]
    assert r["typed"] == ORDER
    assert f"Order {ORDER} · J.D." in r["order"]
    assert "1× Trail shoe" in r["order"] and "2× Sock" in r["order"]
    assert "3 items" in r["order"]
    assert f"Order {ORDER} is handed over. Thank you!" in r["done"]
    assert r["tick_done"] == [True, 1, True]  # a recorded handover: the big tick
    assert r["tick_refused"] == [False, 0]  # a refusal: no tick
    assert r["again_mode"] == "desk"
    assert r["again"].startswith(f"Order {ORDER} was already handed over at ")
    assert r["again"].endswith("by Anna Berg. Do not hand it over again.")
    assert r["scanned"] == f"Order {REFUSED_ORDER} · J.D."
    assert (
        r["refused"] == f"Refusal recorded. Order {REFUSED_ORDER} stays waiting for the customer."
    )
    for row in ("Store", "s042", "Device", "s042-k1", "Connection", "Waiting to send",
                "Dead letters", "Catalog version", "Keys issued", "Config version",
                "Software version"):  # fmt: skip
        assert row in r["status"], (row, r["status"])
    assert "Needs attention" in r["status"]  # no daemon has connected: offline, first
    assert r["status"].index("Needs attention") < r["status"].index("Store")
    assert r["exit_armed"] and r["stopped"] and r["home_after_exit"] == "locked"

    confirmed = events(staff_ui.db_path, "pickup.confirmed")
    assert [e["data"]["order_id"] for e in confirmed] == [ORDER]  # once, not twice
    assert confirmed[0]["data"]["staff_id"] == "anna" and confirmed[0]["data"]["method"] == "lookup"
    refused = events(staff_ui.db_path, "pickup.refused")
    assert [(e["data"]["order_id"], e["data"]["reason"]) for e in refused] == [
        (REFUSED_ORDER, "customer_absent")
    ]


@pytest.mark.parametrize(("lang", "landscape"), [("en", True), ("de", False), ("de", True)])
def test_staff_screens_in_each_orientation_and_language(
    staff_ui: UiKiosk, lang: str, landscape: bool
) -> None:
    r = run_flow(staff_ui, lang, landscape).result
    if lang == "de":
        assert r["wrong"] == "Falsche PIN. Noch 4 Versuche."
        assert r["again"].startswith(f"Bestellung {ORDER} wurde bereits um ")
        assert "Personal: Anna Berg" in r["menu"]
    assert len(events(staff_ui.db_path, "pickup.confirmed")) == 1


def test_an_idle_desk_locks_itself_and_leaves_the_staff_screens(staff_ui: UiKiosk) -> None:
    staff_ui.config.write_text(staff_ui.config.read_text() + "[kiosk]\nstaff_idle_s = 2\n")
    r = staff_ui.run(f"""
        from kivy.core.window import Window
        from kivy.tests.common import UnitTestTouch

        def hold():
            finger = UnitTestTouch(20, Window.height - 20)
            finger.touch_down()
            return finger

        from tests.kiosk.ui.waits import drawn

        s = k.screen("staff")
        settled = lambda: not k.app.manager.transition.is_active
        shown = lambda mode: drawn(lambda: settled() and k.current == "staff" and s.mode == mode)
        yield k.until(lambda: k.current == "home", 10, "the home screen")
        finger = hold()
        yield k.until(lambda: settled() and k.current == "staff" and s.mode == "who", 5, "the staff names")
        finger.touch_up()
        yield k.until(shown("who"), 5, "the staff names drawn")
        k.tap_text("Ben Ode")
        yield k.until(lambda: s.mode == "pin", 5, "the PIN pad")
        yield k.until(shown("pin"), 5, "the PIN pad drawn")
        for d in {STAFF["ben"][1]!r}:
            k.tap_text(d)
        k.tap_text("Unlock")
        yield k.until(lambda: settled() and s.mode == "menu", 5, "the staff menu")
        yield k.until(shown("menu"), 5, "the staff menu drawn")
        k.tap_text("Device status")
        yield k.until(lambda: k.current == "status", 5, "the status page")
        yield k.until(lambda: k.current == "home", 6, "home after the staff idle time")
        k.result["step"] = k.controllers.pickup.step.value
        k.result["message"] = k.controllers.pickup.message()
        k.app.go("status")  # straight to the status page: behind the PIN again
        yield k.until(drawn(settled), 5, "the app's answer drawn")
        k.result["status_without_pin"] = k.current
        k.result["mode"] = s.mode
    """).result
    assert r["step"] == "locked"
    assert r["message"].startswith("The desk locked itself")
    assert r["status_without_pin"] == "staff" and r["mode"] == "who"
