"""What the kiosk holds stays bounded however often it is used: language switches (by
touch on the home screen, and with the on-screen keyboard open) and whole shopper
sessions leave no widgets behind. Counts of live objects after a few rounds and after
many more, never times or resident sizes."""

from __future__ import annotations

#: ``count()``: live (KeyButton, Widget, all objects) after a full collection
COUNT = """
import gc
from kivy.uix.widget import Widget
from kiosk.keyboard import KeyButton


def count():
    gc.collect()
    objs = gc.get_objects()
    return (sum(isinstance(o, KeyButton) for o in objs),
            sum(isinstance(o, Widget) for o in objs), len(objs))


def settled():
    return not k.app.manager.transition.is_active
"""


def test_language_switches_with_the_keyboard_open_leave_no_keys_behind(ui) -> None:
    run = ui.run(
        COUNT
        + """
yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
s = k.controllers.session
k.tap_text("Find a product")
kb = k.find("search", "keyboard")
yield k.until(lambda: kb.open and k.current == "search" and settled(), 5, "the keyboard")
counts, german = [], []
for rounds in (2, 12):
    for _ in range(rounds):
        s.set_language("de")
        yield k.until(lambda: kb.lang == "de", 5, "the German keys")
        german.append(kb.key_for("ß").text)
        s.set_language("en")
        yield k.until(lambda: kb.lang == "en", 5, "the English keys")
    counts.append(count())
k.result["counts"] = counts
k.result["german"] = sorted(set(german))
k.result["keys"] = [kb.key_for(c).text for c in "qz"] + [kb.key_for("space").text]
"""
    )
    r = run.result
    (keys_a, widgets_a, objs_a), (keys_b, widgets_b, objs_b) = r["counts"]
    # the English and the German keys once each (84 more for every round trip before)
    assert keys_b == keys_a and widgets_b == widgets_a, r["counts"]
    assert objs_b - objs_a < 2000, r["counts"]  # some 60,000 a round trip before
    assert r["german"] == ["ß"] and r["keys"] == ["Q", "Z", "Space"]


def test_shopper_sessions_on_the_home_screen_leave_no_widgets_behind(ui) -> None:
    run = ui.run(
        COUNT
        + """
yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
c = k.controllers
counts = []
for rounds in (3, 12):
    for n in range(rounds):
        k.tap_text("Deutsch")
        yield k.until(lambda: c.session.lang == "de", 5, "German")
        k.tap_text("English")
        for ch in "rain":
            c.search.key(ch)
        yield k.until(lambda: c.search.state.value != "typing", 5, "search results")
        c.session.reset("timeout")
        yield k.until(lambda: k.current == "home" and settled(), 5, "home again")
    counts.append(count())
k.result["counts"] = counts
"""
    )
    (keys_a, widgets_a, objs_a), (keys_b, widgets_b, objs_b) = run.result["counts"]
    assert keys_b == keys_a and widgets_b == widgets_a, run.result["counts"]
    assert objs_b - objs_a < 2000, run.result["counts"]


def test_a_session_end_drops_every_screen_but_home_and_frees_it(ui) -> None:
    """What the last shopper saw (greeting, results, the desk's order) is not kept in
    some hidden screen: at the reset the app drops every screen but home, and nothing
    else holds them (a screen the controllers or the transition still held would stay
    alive with all its widgets and textures)."""
    run = ui.run(
        COUNT
        + """
import weakref
yield k.until(lambda: k.current == "home" and settled(), 10, "the home screen")
c = k.controllers
refs = {}
refs["status"] = weakref.ref(k.app.screen("status"))  # shown only from the staff menu
for name in ("search", "product", "scan", "welcome", "feedback", "staff"):
    if name == "staff":
        k.app.screen("staff").open_staff()
    else:
        k.app.go(name)
    yield k.until(lambda: k.current == name and settled(), 5, name)
    refs[name] = weakref.ref(k.app.screen(name))
k.result["before"] = sorted(k.app.manager.screen_names)
k.app.go("home")  # a reset on home drops the screens at once, inside its notification
yield k.until(lambda: k.current == "home" and settled(), 5, "home")
c.session.reset("timeout")
yield k.until(lambda: k.current == "home" and settled() and len(k.app.manager.screens) == 1,
              5, "home alone")


def alive():
    gc.collect()
    return sorted(name for name, ref in refs.items() if ref() is not None)


# freed within a few frames (a callback of the frame they were dropped in may still
# run on a loaded machine), and for good: not held by anything that lasts
yield k.until(lambda: not alive(), 5, "the dropped screens freed")
k.result["after"] = sorted(k.app.manager.screen_names)
k.result["alive"] = alive()
k.app.go("search")  # built anew for the next shopper, and it works
yield k.until(lambda: k.current == "search" and settled(), 5, "search again")
k.tap(k.find("search", "keyboard").key_for("r"))
yield k.until(lambda: c.search.query == "r", 5, "a key typed into the new screen")
"""
    )
    r = run.result
    assert r["before"] == sorted(
        ["home", "search", "product", "scan", "welcome", "feedback", "status", "staff"]
    )
    assert r["after"] == ["home"]
    assert r["alive"] == [], f"still held after the reset: {r['alive']}"
    # the dropped screens' listeners (the search keyboard's among them) are let go
    # during the reset's own notification: none may run on a screen already disposed
    assert "listener failed" not in run.log, run.log[-3000:]
