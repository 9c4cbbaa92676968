"""Idle behaviour in the real app (short timers from the device config's ``[kiosk]``):
"Still there?" counts down before a reset, a touch cancels it, a reset brings back a
clean home and a new session, and a long idle dims the screen, which the next touch only
wakes."""

from __future__ import annotations

import json
import sqlite3

from tests.kiosk.ui.conftest import ui_kiosk

FAST = """
idle_s = 1.5
countdown_s = 2
dim_s = 2.5
dim_level = 0.2
"""


def _events(db, type_: str) -> list[dict]:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT payload FROM outbox WHERE type = ?", (type_,)).fetchall()
    return [json.loads(r[0]) for r in rows]


def test_still_there_counts_down_then_a_touch_keeps_the_session(tmp_path) -> None:
    ui = ui_kiosk(tmp_path, FAST)
    run = ui.run("""
        yield k.until(lambda: k.current == "home", 10, "home")
        k.tap_text("Deutsch")  # the first touch starts a session
        yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
        first = k.controllers.session.id
        yield k.until(lambda: k.app.still_there.showing, 5, "Still there?")
        k.result["overlay_texts"] = k.texts(k.app.still_there)
        yield k.shot("still-there")
        k.tap_at(540, 300)  # anywhere: the touch cancels the countdown
        yield k.until(lambda: not k.app.still_there.showing, 3, "the overlay to go")
        # the touch took the session back to active (a reset would hide the overlay too)
        s = k.controllers.session
        yield k.until(lambda: s.phase == "active" and s.countdown_left() is None, 3,
                      "the countdown cancelled")
        k.result["kept"] = s.id == first
        k.result["lang"] = s.lang
    """)
    assert "Sind Sie noch da?" in run.result["overlay_texts"]
    assert run.result["kept"] is True and run.result["lang"] == "de"


def test_a_reset_ends_the_session_and_shows_a_clean_home(tmp_path) -> None:
    ui = ui_kiosk(tmp_path, FAST)
    run = ui.run("""
        yield k.until(lambda: k.current == "home", 10, "home")
        k.tap_text("Deutsch")
        yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
        first = k.controllers.session.id
        yield k.until(lambda: k.app.still_there.showing, 5, "Still there?")
        yield k.until(lambda: k.current == "home" and not k.app.still_there.showing, 6,
                      "the reset to home")
        k.result["new_session"] = k.controllers.session.id != first
        k.result["lang"] = k.controllers.session.lang
        k.result["texts"] = k.texts()
    """)
    assert run.result["new_session"] is True
    assert run.result["lang"] == "en"  # back to the default language for the next person
    assert "Scan your code" in run.result["texts"]
    (ended,) = _events(ui.db_path, "session.ended")
    (started,) = _events(ui.db_path, "session.started")
    assert ended["session_id"] == started["session_id"]


def test_a_long_idle_dims_and_the_next_touch_only_wakes(tmp_path) -> None:
    ui = ui_kiosk(tmp_path, FAST)
    run = ui.run("""
        yield k.until(lambda: k.current == "home", 10, "home")
        yield k.until(lambda: k.app.dimmer.alpha > 0.5, 8, "the screen to dim")
        yield k.shot("dimmed")
        k.tap_text("Deutsch")  # lands on the button, but only wakes the screen
        yield k.until(lambda: k.app.dimmer.alpha == 0, 5, "the screen to wake")
        s = k.controllers.session
        k.result["after_wake"] = (s.lang, k.app.dimmer.alpha, str(s.phase))
        k.tap_text("Deutsch")
        yield k.until(lambda: k.controllers.session.lang == "de", 5, "German")
    """)
    lang, alpha, phase = run.result["after_wake"]
    assert lang == "en" and alpha == 0
    assert phase == "home"  # woken, not started: the touch went no further
    assert len(_events(ui.db_path, "session.started")) == 1  # the second touch began it
