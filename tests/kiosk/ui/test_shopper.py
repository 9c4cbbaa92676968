"""The shopper's screens in the real app: typing on the on-screen keyboard gives results
with their state here, a result opens the product page (here, nearby with distance,
freshness), typing keeps the session alive past ``idle_s``, a reset closes the
keyboard and clears the search, and screenshots of both screens in both orientations
and languages (copied to ``screenshots/shopper/``, which git ignores)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from edge_sync import EdgeClient
from edge_sync.config import load_device_config
from edge_sync.protocol.campaign_list import parse_campaign_list
from tests.kiosk.controllers.conftest import write_config
from tests.kiosk.scan_helpers import campaign_entry, list_doc

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "screenshots" / "shopper"

#: helpers every script here starts with: ``settled()`` (no screen transition running:
#: the screen manager drops touches during one), ``shown(name)`` (that screen alone,
#: drawn: ``tests/kiosk/ui/waits.py``) and ``_clipped(k)`` (labels of the current
#: screen drawn outside the window, or with text larger than the label)
PRELUDE = """
from tests.kiosk.ui.waits import drawn


def settled():
    return not k.app.manager.transition.is_active


def shown(name, also=lambda: True):
    # the screen alone (its change over) and drawn: laid out, its label textures built
    return drawn(lambda: k.current == name and settled() and also())


def _clipped(k):
    from kivy.core.window import Window
    from kivy.uix.label import Label
    bad = []
    for w in k.screen(k.current).walk():
        if not isinstance(w, Label) or not w.text or w.opacity == 0 or w.height <= 0:
            continue
        x0, y0 = w.to_window(w.x, w.y)
        x1, y1 = w.to_window(w.right, w.top)
        if x0 < -1 or y0 < -1 or x1 > Window.width + 1 or y1 > Window.height + 1:
            bad.append(("outside", w.text, (x0, y0, x1, y1)))
        elif w.texture_size[0] > w.width + 2 or w.texture_size[1] > w.height + 2:
            bad.append(("clipped", w.text, tuple(w.texture_size), tuple(w.size)))
    return bad
"""


def _run(ui, body: str, **kw):
    return ui.run(PRELUDE + textwrap.dedent(body), **kw)


def _events(db_path: Path, type_: str) -> list[dict]:
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT payload FROM outbox WHERE type = ?", (type_,)).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0])["data"] for r in rows]


@pytest.fixture
def ui_short_idle(ui):
    """The ``ui`` kiosk with "Still there?" after 1.5 s and a reset 1.5 s later."""
    write_config(ui.tmp, "[kiosk]\nidle_s = 1.5\ncountdown_s = 1.5\n")
    return ui


def test_typing_rain_shows_each_state_and_a_result_opens_the_product(ui) -> None:
    run = _run(
        ui,
        """
        from kivy.metrics import dp
        from kiosk import theme
        yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
        k.tap_text("Find a product")
        yield k.until(lambda: k.current == "search" and settled(), 5, "the search screen")
        kb = k.find("search", "keyboard")
        yield k.until(lambda: kb.open and settled(), 5, "the keyboard")
        k.result["keys"] = [(w.width / dp(1), w.height / dp(1)) for w in kb._keys.values()]
        # the pressed state shows while the finger is down, and the key already typed
        from kivy.tests.common import UnitTestTouch
        r = kb.key_for("r")
        touch = UnitTestTouch(*r.to_window(*r.center))
        touch.touch_down()
        k.result["down"] = (r.state, list(r.background_color) == list(theme.PRIMARY),
                            k.controllers.search.query)
        touch.touch_up()
        for ch in "ain":
            k.tap(kb.key_for(ch))
        yield k.until(lambda: len(k.find("search", "results").children) == 3, 5, "3 results")
        yield k.until(shown("search", lambda: k.controllers.search.state == "results"), 5,
                      "the results drawn")
        k.result["query"] = k.find("search", "query").text
        rows = list(reversed(k.find("search", "results").children))
        k.result["rows"] = [(r.name, r.brand, r.price, r.state, r.state_text) for r in rows]
        k.result["row_texts"] = [k.texts(r) for r in rows]
        # what each row's icon and each key draw: a draw call per shape, seen or not
        shape_names = {"SmoothLine", "SmoothEllipse", "Line", "Ellipse", "Rectangle"}
        def shapes(canvas):
            return [type(i).__name__ for i in canvas.children if type(i).__name__ in shape_names]
        k.result["icon_shapes"] = {
            r.state: [shapes(w.canvas) for w in r.walk(restrict=True) if type(w).__name__ == "StockIcon"]
            for r in rows
        }
        k.result["key_lines"] = {name: len(shapes(key.canvas.after))
                                 for name, key in kb._keys.items()}
        k.tap(next(r for r in rows if r.name == "Rain Poncho"))
        yield k.until(lambda: k.current == "product" and settled(), 5, "the product page")
        yield k.until(shown("product"), 5, "the product page drawn")
        k.result["texts"] = k.texts()
        k.result["fresh"] = k.controllers.product.view().freshness_text
        k.result["image"] = k.screen("product").ids.picture.source
        k.tap(k.find("product", "back"))
        yield k.until(lambda: k.current == "search" and settled(), 5, "back to the search")
        k.result["query_after_back"] = k.controllers.search.query
    """,
    )
    r = run.result
    assert r["keys"] and all(w >= 80 and h >= 80 for w, h in r["keys"]), r["keys"]
    assert r["down"] == ["down", True, "r"]
    assert r["query"].startswith("rain")
    assert sorted(r["rows"]) == [
        ["Rain Jacket Kids", "Nordkap", "€45.00", "low", "Only a few left"],
        ["Rain Jacket Pro", "Nordkap", "€89.00", "in_stock", "In stock"],
        ["Rain Poncho", "Trekka", "€12.99", "out", "Not in this store right now"],
    ]  # no counts: this store does not show exact stock
    # each icon carries only its own state's shapes: ring; disc and tick; disc, bar and dot
    assert r["icon_shapes"] == {
        "out": [["SmoothLine"]],
        "in_stock": [["SmoothEllipse", "SmoothLine"]],
        "low": [["SmoothEllipse", "SmoothLine", "SmoothEllipse"]],
    }
    # the three lines of ⌫ are on the backspace key only, not drawn unseen on every key
    assert r["key_lines"]["backspace"] == 3
    assert {n: c for n, c in r["key_lines"].items() if n != "backspace"} == dict.fromkeys(
        (n for n in r["key_lines"] if n != "backspace"), 0
    )
    # each row shows its name, brand, price and the state's words (with the icon)
    for (name, brand, price, _state, words), shown in zip(r["rows"], r["row_texts"], strict=True):
        assert {name, brand, price, words} <= set(shown)
    texts = r["texts"]
    # out here: the row also says where the nearest store has it
    by_name = {row[0]: shown for row, shown in zip(r["rows"], r["row_texts"], strict=True)}
    assert "In stock at Store s043, 1.2 km" in by_name["Rain Poncho"]
    others = [t for name, shown in by_name.items() if name != "Rain Poncho" for t in shown]
    assert not any(" km" in t for t in others)
    assert "Rain Poncho" in texts and "€12.99" in texts
    assert "Not in this store right now" in texts
    # nearby: nearest first, a count only where that store shows exact stock
    assert texts.index("Store s043") < texts.index("Store s044")
    assert "1.2 km" in texts and "3.4 km" in texts
    assert "9 in stock" in texts and "Only a few left" in texts
    assert r["fresh"] in texts and r["fresh"].startswith("Data from")  # counted months ago
    assert r["image"].endswith("fallback/product.png")  # img/RP-01.jpg is not on the device
    assert r["query_after_back"] == "rain"
    assert _events(ui.db_path, "product.searched") == [
        {"query": "rain", "results": 3, "in_stock_results": 2}
    ]
    [viewed] = _events(ui.db_path, "product.viewed")
    assert (viewed["sku"], viewed["source"], viewed["in_stock"]) == ("RP-01", "search", False)


def test_no_results_say_what_to_do_and_a_typo_is_corrected(ui) -> None:
    run = _run(
        ui,
        """
        yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
        k.tap(k.find("home", "search_button"))
        kb = k.find("search", "keyboard")
        yield k.until(lambda: kb.open and settled(), 5, "keys")
        message = k.find("search", "message")
        k.result["hint"] = message.text
        for ch in "xyzzy":
            k.tap(kb.key_for(ch))
        yield k.until(lambda: "xyzzy" in message.text, 5, "no results")
        k.result["none"] = (message.text, len(k.find("search", "results").children))
        for _ in range(3):
            k.tap(kb.key_for("backspace"))
        box = k.find("search", "query")
        # the box echoes each key within the frame
        yield k.until(drawn(lambda: not box.text.startswith("xyzzy")), 5, "the backspaces")
        k.result["after_backspace"] = k.controllers.search.query
        k.result["box_after_backspace"] = box.text
        k.tap(k.find("search", "clear"))
        yield k.until(lambda: k.controllers.search.query == "", 5, "a clear box")
        for ch in "poncjo":
            k.tap(kb.key_for(ch))
        yield k.until(lambda: len(k.find("search", "results").children) == 1, 5, "the poncho")
        yield k.until(shown("search", lambda: k.controllers.search.state == "results"), 5,
                      "the poncho drawn")
        k.result["corrected"] = message.text
        k.result["row"] = k.find("search", "results").children[0].name
        k.tap(kb.key_for("close"))
        yield k.until(lambda: not kb.open, 5, "the keyboard hidden")
        k.result["hidden"] = (k.controllers.session.keyboard_open, kb.height)
        k.tap(k.find("search", "show_keyboard"))
        yield k.until(lambda: kb.open, 5, "the keyboard shown again")
    """,
    )
    r = run.result
    assert r["hint"] == "Type a product name, a brand or a number."
    assert r["none"] == ["Nothing found for “xyzzy”. Try fewer or other words.", 0]
    assert r["after_backspace"] == "xy"
    assert r["box_after_backspace"].split("[")[0] == "xy"  # then the cursor's markup
    assert r["corrected"] == "Showing results for: poncho" and r["row"] == "Rain Poncho"
    assert r["hidden"] == [False, 0]


def test_typing_keeps_the_session_and_a_reset_closes_the_keyboard(ui_short_idle) -> None:
    run = _run(
        ui_short_idle,
        """
        import gc, time
        yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
        s = k.controllers.session
        k.tap_text("Find a product")
        yield k.until(lambda: k.current == "search" and settled(), 5, "the search screen")
        kb = k.find("search", "keyboard")
        k.result["idle_s"] = s.settings.idle_s
        start, seen = time.monotonic(), set()
        for ch in "wool socks wool":
            k.tap(kb.key_for(ch if ch != " " else "space"))
            seen.add(str(s.phase))
            seen.add(str(k.app.still_there.showing))
            # a slow typist: the keys must come 0.3 s apart, for longer than 2 × idle_s
            # in all (typed_for), so time passing is what is tested here
            yield k.sleep(0.3)
            seen.add(str(s.phase))
            seen.add(str(k.app.still_there.showing))
        k.result["typed_for"] = time.monotonic() - start
        k.result["seen"] = sorted(seen)
        k.result["query"] = k.controllers.search.query
        # now nobody types: "Still there?", then the reset
        yield k.until(lambda: k.app.still_there.showing, 5, "Still there?")
        k.result["keyboard_before_reset"] = kb.open
        yield k.until(lambda: k.current == "home" and settled(), 5, "the reset")
        # the reset drops the search screen, its keyboard with it
        yield k.until(lambda: "search" not in k.app.manager.screen_names, 5, "the drop")
        gc.collect()
        try:
            old = {"open": kb.open, "height": kb.height}
        except ReferenceError:  # freed: nothing of it can show again
            old = {"open": False, "height": 0, "freed": True}
        k.result["after"] = {
            **old, "session": s.keyboard_open, "query": k.controllers.search.query,
            # the next shopper's search screen, built anew
            "label": k.find("search", "query").text,
            "rows": len(k.find("search", "results").children),
        }
    """,
    )
    r = run.result
    assert r["typed_for"] > 2 * r["idle_s"]
    assert r["seen"] == ["False", "active"]  # never "Still there?" while typing
    assert r["query"] == "wool socks wool"
    assert r["keyboard_before_reset"] is True
    after = r["after"]
    assert after["open"] is False and after["session"] is False and after["height"] == 0
    assert after.get("freed") is True  # not kept in a hidden screen either
    assert after["query"] == "" and "wool" not in after["label"] and after["rows"] == 0


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_screenshots_of_search_and_product(ui, orientation) -> None:
    landscape = orientation == "landscape"
    run = _run(
        ui,
        """
yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
k.result["clipped"] = {}
for lang in ("en", "de"):
    k.controllers.session.set_language(lang)
    yield k.until(shown("home", lambda: k.screen("home").lang == lang), 5, f"home drawn in {lang}")
    k.result["clipped"][f"home-{lang}"] = _clipped(k)
    yield k.shot(f"home-ORIENT-{lang}")
    k.tap(k.find("home", "search_button"))
    yield k.until(lambda: k.current == "search" and settled(), 5, "the search screen")
    kb = k.find("search", "keyboard")
    yield k.until(lambda: kb.open and settled(), 5, "the keyboard")
    k.result.setdefault("keys", []).extend((w.width, w.height) for w in kb._keys.values())
    k.result.setdefault("layouts", {})[lang] = sorted(kb._keys)
    for ch in "rain":
        k.tap(kb.key_for(ch))
    yield k.until(lambda: len(k.find("search", "results").children) == 3, 5, "results")
    yield k.until(shown("search", lambda: k.controllers.search.state == "results"), 5,
                  "the results drawn")
    k.result["clipped"][f"search-{lang}"] = _clipped(k)
    yield k.shot(f"search-ORIENT-{lang}")
    rows = list(reversed(k.find("search", "results").children))
    k.tap(next(r for r in rows if r.row.sku == "RP-01"))
    yield k.until(lambda: k.current == "product" and settled(), 5, "the product page")
    yield k.until(shown("product"), 5, "the product page drawn")
    k.result["clipped"][f"product-{lang}"] = _clipped(k)
    yield k.shot(f"product-ORIENT-{lang}")
    k.controllers.session.reset("done")
    yield k.until(lambda: k.current == "home" and settled(), 5, "home again")
""".replace("ORIENT", orientation),
        landscape=landscape,
    )
    assert all(w >= 80 and h >= 80 for w, h in run.result["keys"])
    de, en = (set(run.result["layouts"][lang]) for lang in ("de", "en"))
    assert {"Ä", "Ö", "Ü", "ß", "Z", "Y", "space", "backspace", "close", "-", "0"} <= de
    assert not {"Ä", "Ö", "Ü", "ß"} & en and {"Y", "Z", "space", "backspace"} <= en
    assert run.result["clipped"] == {
        f"{s}-{lang}": [] for lang in ("en", "de") for s in ("home", "search", "product")
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = (1920, 1080) if landscape else (1080, 1920)
    for screen in ("home", "search", "product"):
        for lang in ("en", "de"):
            png = run.png(f"{screen}-{orientation}-{lang}")
            im = Image.open(png)
            assert im.size == size
            assert len(set(im.convert("L").resize((54, 96)).tobytes())) > 8
            shutil.copy(png, SHOTS / png.name)


@pytest.fixture
def ui_two_offers(ui):
    """The ``ui`` kiosk with two campaigns running today (the app's clock is the real
    one) and an attract loop of 0.8 s."""
    write_config(ui.tmp, "[kiosk]\nattract_rotate_s = 0.8\n")
    today = datetime.now(UTC).date()
    span = {"starts": str(today - timedelta(days=1)), "ends": str(today + timedelta(days=30))}
    doc = list_doc([campaign_entry("cmp-1", **span), campaign_entry("cmp-2", **span)], as_of=today)
    client = EdgeClient.from_config(load_device_config(ui.config))
    try:
        client.campaign_cache.apply_list(parse_campaign_list(json.dumps(doc).encode()))
    finally:
        client.close()
    return ui


def test_the_attract_loop_rotates_and_a_touch_holds_the_card(ui_two_offers) -> None:
    run = _run(
        ui_two_offers,
        """
        import time
        yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
        home = k.screen("home")
        offer = k.find("home", "offer")
        yield k.until(lambda: offer.text.startswith("cmp-1"), 5, "the first offer")
        k.result["visual"] = home.visual
        opacities = []
        k.find("home", "card").bind(opacity=lambda _w, v: opacities.append(v))
        yield k.until(lambda: offer.text.startswith("cmp-2"), 5, "the second offer")
        card = k.find("home", "card")
        yield k.until(lambda: opacities and card.opacity == 1, 5, "the card faded in")
        k.result["faded"] = (min(opacities), opacities[-1])
        yield k.until(lambda: offer.text.startswith("cmp-1"), 5, "the first again")
        # a shopper reading it: touches on the card hold it for longer than the loop
        held, holding = set(), time.monotonic()
        for _ in range(8):
            k.tap(k.find("home", "card"))
            held.add(offer.text)
            # the card must stay through the time the loop would have turned it: time
            # passing is what is tested (held_for)
            yield k.sleep(0.3)
            held.add(offer.text)
        k.result["held"] = sorted(held)
        k.result["held_for"] = time.monotonic() - holding
        k.tap_text("Deutsch")
        yield k.until(lambda: "Stiefel" in offer.text, 5, "the offer in German")
        k.result["de"] = k.texts()
    """,
    )
    r = run.result
    # the campaign names a visual this device does not have: the project's fallback
    assert r["visual"].endswith("fallback/home.png")
    assert r["faded"][0] < 0.5 and r["faded"][1] == 1  # faded in, and fully shown
    assert r["held"] == ["cmp-1: 20% off boots"]
    assert r["held_for"] > 2 * 0.8  # longer than two turns of the 0.8 s loop
    assert "Code scannen" in r["de"] and any(t.startswith("Gültig bis") for t in r["de"])
