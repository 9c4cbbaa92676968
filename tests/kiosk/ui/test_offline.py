"""Offline mode, with the broker stopped: search, scan and pickup keep working, the
status strip says offline, and everything syncs when the broker returns.

All real: Mosquitto on a free port (stopped and started again on the same port),
central in its own process with the demo retailer's store data (on SQLite, and on
PostgreSQL where ``OMK_TEST_POSTGRES_URL`` is set), the device's sync daemon
fetching its store's snapshot with its device key, and the kiosk app under Xvfb driven
by a script (``kiosk/script.py``). The shopper's code is signed with central's own key;
the camera is an image folder holding real QR frames of it.

The app keeps running across the broker's return: its script does the offline work,
tells the test (a marker file), and then waits for the strip's own text to say online
and synced, while the test starts the broker and checks central. Screenshots go to
``screenshots/offline/`` (not committed).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from central_api.domain.tokens.keystore import KeyStore
from kiosk.i18n import text as ui_text
from tests.faults.harness import Spine
from tests.kiosk.ui.conftest import ROOT
from tests.kiosk.ui.test_scanflow import _frames, _looks_drawn
from tests.support.store_world import PIN, World, device_rows
from tests.support.waiting import StopWaiting, wait_for

SHOTS = ROOT / "screenshots" / "offline"
PROFILE = "p-offline-1"
SPADE = ("GW-00002", "Fiskars Spade")  # the demo catalog's; s001 shows exact stock: 9

#: the app's side. Names set before it: MARK (the file that tells the test the offline
#: work is done), CODE (the order's pickup code as a scanner reads it), PIN, and the
#: button texts below.
SCRIPT = """
import json, os
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

strip = k.app.strip
seen = k.result["strip_seen"] = []  # every text the strip showed, in order


def watch():
    if not seen or seen[-1] != strip.text:
        seen.append(strip.text)
    return True


def at(name):
    # a screen manager in a transition takes no touch: wait for it to settle as well
    watch()
    return k.current == name and not k.app.manager.transition.is_active


yield k.until(lambda: at("home"), 20, "the home screen")
yield k.until(lambda: at("home") and strip.text.startswith("Offline since"), 15,
              "the strip saying offline")
k.result["strip_offline"] = [strip.text, strip.connectivity]
yield k.shot("1-home-offline")

# search by taps on the on-screen keyboard
k.tap_text(k.controllers.home.search_label())
yield k.until(lambda: at("search"), 5, "the search screen")
kb = k.find("search", "keyboard")
yield k.until(lambda: kb.open and at("search"), 5, "the keyboard")
for ch in "spade":
    k.tap(kb.key_for(ch))
results = k.find("search", "results")
yield k.until(lambda: len(results.children) > 0, 5, "results")
rows = list(reversed(results.children))
k.result["query"] = k.controllers.search.query
k.result["rows"] = [[r.name, r.state, r.state_text] for r in rows]
yield k.shot("2-search-offline")
k.tap(next(r for r in rows if r.name == SPADE))
yield k.until(lambda: at("product"), 5, "the product page")
k.result["product"] = k.texts()
yield k.shot("3-product-offline")
k.tap(k.find("product", "back"))
yield k.until(lambda: at("search"), 5, "back to the search")
k.tap(k.find("search", "back"))
yield k.until(lambda: at("home"), 5, "home")

# the shopper's code from the camera
k.tap_text(k.controllers.home.scan_label())
yield k.until(lambda: at("welcome"), 15, "the welcome screen")
k.result["welcome"] = k.texts()
yield k.shot("4-welcome-offline")
k.tap(k.find("welcome", "consent_yes"))
yield k.until(lambda: not k.screen("welcome").asks_consent, 5, "the consent answer")
k.tap(k.find("welcome", "done"))
yield k.until(lambda: at("feedback"), 5, "the feedback screen")
k.tap_text(VERY_GOOD)
yield k.until(lambda: k.screen("feedback").step == "reason", 5, "the reasons")
k.tap(k.find("feedback", "skip"))
yield k.until(lambda: at("home"), 8, "home after thank you")

# staff: the corner hold, the PIN by taps, the desk, the order by its code
s = k.screen("staff")
finger = UnitTestTouch(20, Window.height - 20)
finger.touch_down()
yield k.until(lambda: at("staff") and s.mode == "pin", 6, "the PIN pad after the hold")
finger.touch_up()
for d in PIN:
    k.tap_text(d)
k.tap_text(UNLOCK)
yield k.until(lambda: at("staff") and s.mode == "menu", 5, "the staff menu")
k.tap_text(DESK)
yield k.until(lambda: at("staff") and s.mode == "desk", 5, "the desk")
s.scanned(CODE)  # what a keyboard-like scanner types
yield k.until(lambda: at("staff") and s.mode == "order", 5, "the order")
k.result["order"] = k.texts()
yield k.shot("5-desk-order-offline")
k.tap_text(HAND_OVER)
yield k.until(lambda: at("staff") and s.mode == "done", 5, "handed over")
k.result["done"] = k.texts()
yield k.until(lambda: watch() and "everything you do is saved" in strip.text, 5, "the strip")
k.result["strip_after_work"] = [strip.text, strip.connectivity]
yield k.shot("6-desk-done-offline")

# the test checks the outbox and starts the broker; the strip must follow on its own
with open(MARK + ".tmp", "w") as f:
    json.dump(k.result, f)
os.replace(MARK + ".tmp", MARK)
yield k.until(lambda: watch() and strip.text.startswith("Online · synced"), 60,
              "the strip saying online and synced")
k.result["strip_online"] = [strip.text, strip.connectivity]
yield k.shot("7-desk-online")
"""


def _script(marker: Path, code: str) -> str:
    names = {
        "MARK": str(marker), "CODE": code, "PIN": PIN, "SPADE": SPADE[1],
        "VERY_GOOD": ui_text("rating_5", "en"), "UNLOCK": ui_text("staff_ok", "en"),
        "DESK": ui_text("staff_menu_pickup", "en"), "HAND_OVER": ui_text("staff_hand_over", "en"),
    }  # fmt: skip
    consts = "".join(f"{k} = {v!r}\n" for k, v in names.items())
    body = "".join(f"    {line}\n" if line else "\n" for line in (consts + SCRIPT).splitlines())
    return f"def script(k):\n{body}"


def _outbox(db: Path) -> list[tuple[str, str, dict]]:
    rows = device_rows(db, "SELECT type, priority, payload FROM outbox ORDER BY seq")
    return [(t, p, json.loads(payload)) for t, p, payload in rows]


def _link(world: World, device: str) -> str | None:
    with world.client(device) as client:
        return client.sync_status()["link_state"]


def _minutes(start: datetime, end: datetime) -> set[str]:
    """Every local hh:mm from ``start`` to ``end``: what "Offline since" may say."""
    out, t = set(), start.replace(second=0, microsecond=0)
    while t <= end:
        out.add(f"{t:%H:%M}")
        t += timedelta(minutes=1)
    return out


def test_offline_search_scan_and_pickup_then_everything_syncs(
    tmp_path, broker, spawn, xvfb, db_url
):
    s = Spine(tmp_path, broker, db_url, spawn)  # central on SQLite, and on PostgreSQL
    cam = tmp_path / "cam"
    world = World(s, [s.device], device_extra=f'[kiosk]\ncamera = "file:{cam}"\n')
    order = world.ready_order("WEB-601")
    oid, code = order["id"], order["pickup_code"]
    db = world.edge_db(s.device)
    world.wait_due(s.device, oid)
    wait_for(lambda: device_rows(db, "SELECT kid FROM keys"), timeout=30,
             message="central's keys on the device")  # fmt: skip
    wait_for(lambda: _link(world, s.device) == "connected", timeout=30,
             message="the daemon's broker connection")  # fmt: skip
    signer = KeyStore(s.key_dir, "shop.example.com").signer()
    today = date.today()  # the app checks codes against the real clock
    token = signer.sign("p", PROFILE, not_before=today - timedelta(days=1),
                        not_after=today + timedelta(days=30))  # fmt: skip
    _frames(cam, signer.url(token), seed=5)

    # the store's link goes down; then the kiosk starts and is used
    stopped_at = datetime.now().astimezone()
    s.broker.stop()
    marker = tmp_path / "offline-done.json"
    script, out = tmp_path / "offline_script.py", tmp_path / "kiosk-out"
    script.write_text(_script(marker, code["url"]))
    kiosk = spawn(["kiosk", "--config", str(world.configs[s.device]), "--windowed",
                   "--script", str(script), "--out", str(out)],
                  name="kiosk", env={"DISPLAY": xvfb})  # fmt: skip

    def offline_done() -> bool:
        if not kiosk.alive:
            result = out / "result.json"
            got = json.loads(result.read_text()) if result.exists() else {}
            raise StopWaiting(
                f"the kiosk exited {kiosk.returncode}: {got.get('traceback')}\n"
                f"the strip showed {got.get('strip_seen')}\n{kiosk.log_tail()}"
            )
        return marker.exists()

    wait_for(offline_done, timeout=90, message="the kiosk's offline work")
    done_at = datetime.now().astimezone()
    r = json.loads(marker.read_text())

    # the strip said offline, since when the kiosk first saw the link down
    strip, kind = r["strip_offline"]
    since = strip.removeprefix("Offline since ").removesuffix(" — everything you do is saved")
    assert since in _minutes(stopped_at, done_at), strip
    assert kind == "offline"
    assert r["strip_after_work"] == [strip, "offline"]  # still offline after the work
    # search: results with their state here; the product page with the count
    assert r["query"] == "spade"
    assert [SPADE[1], "in_stock", "9 in stock"] in r["rows"], r["rows"]
    assert {state for _, state, _ in r["rows"]} == {"in_stock", "low", "out"}, r["rows"]
    assert SPADE[1] in r["product"] and "9 in stock" in r["product"], r["product"]
    # the code was checked offline: the welcome screen and its consent prompt
    assert "Welcome back!" in r["welcome"], r["welcome"]
    # the desk found the order by its code and handed it over
    assert f"Order {oid} · J.D." in r["order"], r["order"]
    assert f"Order {oid} is handed over. Thank you!" in r["done"], r["done"]

    # everything is in the outbox, nothing at central yet
    held = _outbox(db)
    by_type = {t: ev for t, _, ev in held}
    for t in ("product.searched", "product.viewed", "visit.linked", "consent.recorded",
              "pickup.confirmed"):  # fmt: skip
        assert t in by_type, [t for t, _, _ in held]
    assert by_type["product.searched"]["data"]["query"] == "spade"
    assert by_type["product.viewed"]["data"]["sku"] == SPADE[0]
    linked = by_type["visit.linked"]
    assert linked["data"]["profile_id"] == PROFILE and linked["data"]["token_kind"] == "p"
    pickup = by_type["pickup.confirmed"]
    assert pickup["data"]["order_id"] == oid and pickup["data"]["staff_id"] == "anna"
    assert pickup["data"]["token_hash"] == code["token_hash"]
    assert [p for t, p, _ in held if t == "pickup.confirmed"] == ["critical"]
    assert s.central_count() == 0
    assert world.order(oid)["state"] == "ready_for_pickup"  # central cannot know yet
    assert _link(world, s.device) != "connected"  # what the daemon recorded for the kiosk

    # the link is back: the outbox drains and central has it all
    s.broker.start()
    s.wait_drained(len(held), timeout=60)
    ids = {ev["id"] for _, _, ev in held}
    with create_engine(s.db_url).connect() as c:
        stored = {i for (i,) in c.execute(text("SELECT id FROM events"))}
        links = c.execute(text("SELECT session_id, profile_id FROM session_links")).all()
    assert ids <= stored
    assert (linked["session_id"], PROFILE) in [tuple(row) for row in links]
    now = world.order(oid)
    assert now["state"] == "picked_up"
    # picked up when the kiosk handed it over, not when central heard of it
    assert now["state_at"] == pickup["occurred_at"]
    assert now["pickup"]["device_id"] == s.device and now["pickup"]["staff_id"] == "anna"
    journey = world.call("GET", f"/api/v1/profiles/{PROFILE}/journey", world.admin).json()
    assert journey["withheld"] is None, journey  # the consent given at the kiosk arrived
    visit = [tp for tp in journey["touchpoints"] if tp["event_id"] == linked["id"]]
    assert visit and visit[0]["occurred_at"] == linked["occurred_at"], journey
    assert visit[0]["device_id"] == s.device and visit[0]["store_id"] == s.store, visit

    # and the app's strip said so on its own
    assert kiosk.wait(timeout=90) == 0, kiosk.log_tail()
    final = json.loads((out / "result.json").read_text())
    assert final["ok"], final.get("traceback")
    strip, kind = final["strip_online"]
    assert kind == "online" and strip.startswith("Online · synced "), strip
    seen = final["strip_seen"]
    assert seen[0] != seen[-1] and any(t.startswith("Offline since") for t in seen), seen

    SHOTS.mkdir(parents=True, exist_ok=True)
    for png in sorted(out.glob("*.png")):
        _looks_drawn(png)
        shutil.copy(png, SHOTS / png.name)
    assert len(list(out.glob("*.png"))) == 7
