"""The shopper session and idle behaviour: every touch (keyboard keys too) resets the
idle timer, "Still there?" counts down before the reset, the reset clears every
controller and closes the keyboard and dialogs, and a long idle dims the screen."""

from __future__ import annotations

import pytest

from kiosk.controllers.feedback import FeedbackStep
from kiosk.controllers.pickup import PickupStep
from kiosk.controllers.search import SearchState
from kiosk.controllers.session import Phase
from tests.edge.pickups.helpers import STAFF

from .conftest import Kiosk


def test_countdown_precedes_the_reset(kiosk: Kiosk):
    s = kiosk.c.session
    assert s.touch() is False and s.phase is Phase.ACTIVE
    first = s.id
    kiosk.advance(44.75)
    assert s.phase is Phase.ACTIVE
    kiosk.advance(0.25)
    assert s.phase is Phase.STILL_THERE and s.countdown_left() == 10
    assert "10 s" in s.still_there_text()
    kiosk.advance(9.75)
    assert s.phase is Phase.STILL_THERE and s.id == first and s.countdown_left() == 1
    kiosk.advance(0.25)
    assert s.phase is Phase.HOME and s.id != first and s.countdown_left() is None
    started, ended = kiosk.events("session.started"), kiosk.events("session.ended")
    assert [e["session_id"] for e in started] == [first]
    assert [e["session_id"] for e in ended] == [first]
    assert ended[0]["data"]["reason"] == "timeout"
    assert ended[0]["data"]["duration_ms"] == 55_000


def test_a_touch_during_the_countdown_keeps_the_session(kiosk: Kiosk):
    s = kiosk.c.session
    s.touch()
    first = s.id
    kiosk.advance(50)
    assert s.phase is Phase.STILL_THERE
    assert s.touch() is False
    assert s.phase is Phase.ACTIVE and s.countdown_left() is None
    kiosk.advance(44)
    assert s.phase is Phase.ACTIVE and s.id == first
    assert kiosk.events("session.ended") == []


def test_keyboard_keys_reset_the_idle_timer(kiosk: Kiosk):
    s, search = kiosk.c.session, kiosk.c.search
    s.touch()
    s.open_keyboard()
    first = s.id
    # a slow typist: a key every 20 s for four minutes, with no other touch
    for ch in "rain jacket p":
        kiosk.advance(20)
        search.key(ch)
        assert s.phase is Phase.ACTIVE, f"idle while typing at {ch!r}"
    assert s.id == first and search.query == "rain jacket p" and s.keyboard_open
    kiosk.advance(45)
    assert s.phase is Phase.STILL_THERE


def test_late_ticks_still_show_the_whole_countdown(kiosk: Kiosk):
    s = kiosk.c.session
    s.touch()
    kiosk.clock.advance(1000)  # the app was busy: no tick for a long time
    kiosk.c.tick()
    assert s.phase is Phase.STILL_THERE and s.countdown_left() == 10
    kiosk.advance(9.5)
    assert s.phase is Phase.STILL_THERE
    kiosk.advance(0.5)
    assert s.phase is Phase.HOME


def test_reset_clears_every_controller_and_closes_overlays(kiosk: Kiosk):
    c, s = kiosk.c, kiosk.c.session
    s.touch()
    home = c.home
    home.set_language("de")
    s.open_keyboard()
    s.open_dialog("refuse_reason")
    c.search.set_query("rain")
    c.search.submit()
    assert c.search.rows()
    assert c.product.show("RJ-01") is not None
    c.pickup.start()
    for d in STAFF["anna"][1]:
        c.pickup.digit(d)
    assert c.pickup.submit_pin()
    assert c.pickup.scan(kiosk.order_code.text)
    c.feedback.begin("visit", profile_id="p-42")
    c.feedback.rate(4)
    scan_before = c.scan
    first = s.id

    kiosk.advance(55)

    assert s.phase is Phase.HOME and s.id != first
    assert not s.keyboard_open and s.dialog is None and s.lang == "en"
    assert c.search.query == "" and c.search.rows() == [] and c.search.state is SearchState.EMPTY
    assert c.product.view() is None
    assert c.pickup.step is PickupStep.LOCKED and c.pickup.order is None
    assert c.pickup.staff is None and c.pickup.message() is None
    assert c.feedback.step is FeedbackStep.IDLE and c.feedback.rating is None
    assert c.scan is not scan_before and c.home.index == 0
    # the search the shopper did is recorded once, in the session that did it
    searched = kiosk.events("product.searched")
    assert [(e["session_id"], e["data"]["query"]) for e in searched] == [(first, "rain")]


@pytest.mark.allow_logged_errors
def test_a_failing_reset_does_not_stop_the_others(kiosk: Kiosk):
    s = kiosk.c.session

    def broken() -> None:
        raise RuntimeError("boom")

    s.register("broken", broken)
    s.touch()
    kiosk.c.search.set_query("rain")
    report = s.reset("staff")
    assert report.failed == ("broken",) and report.was_started
    assert kiosk.c.search.query == ""
    assert kiosk.events("session.ended")[0]["data"]["reason"] == "staff"


def test_overlay_changes_reach_subscribers(kiosk: Kiosk):
    s = kiosk.c.session
    seen: list[str] = []
    unsubscribe = s.subscribe(seen.append)
    s.touch()
    s.open_keyboard()
    s.reset("done")
    assert seen == ["phase", "overlay", "reset"]
    unsubscribe()
    s.open_dialog("x")
    assert seen == ["phase", "overlay", "reset"]


def test_a_listener_let_go_by_an_earlier_one_in_the_same_change_is_not_called(kiosk: Kiosk):
    """The app drops screens on the reset; a dropped screen's keyboard unsubscribes then,
    and must not be called for that same reset with its session already let go."""
    s = kiosk.c.session
    seen: list[str] = []
    later = seen.append
    unsubscribe_later: list = []

    def first(what: str) -> None:
        seen.append(f"first:{what}")
        if what == "reset":
            unsubscribe_later[0]()

    s.subscribe(first)
    unsubscribe_later.append(s.subscribe(later))
    s.touch()
    s.reset("timeout")
    assert seen == ["first:phase", "phase", "first:reset"]


def test_dim_after_a_longer_idle_and_wake_on_touch(kiosk: Kiosk):
    s = kiosk.c.session
    s.touch()
    kiosk.advance(55)  # the reset
    assert s.phase is Phase.HOME and s.brightness == 1.0
    kiosk.advance(299.75)
    assert s.phase is Phase.HOME
    kiosk.advance(0.25)
    assert s.phase is Phase.DIMMED and s.dimmed and s.brightness == pytest.approx(0.2)
    n_started = len(kiosk.events("session.started"))
    # the waking touch only wakes: it starts no session and presses nothing
    assert s.touch() is True
    assert s.phase is Phase.HOME and len(kiosk.events("session.started")) == n_started
    assert s.touch() is False and s.phase is Phase.ACTIVE
    assert len(kiosk.events("session.started")) == n_started + 1


def test_an_untouched_kiosk_records_nothing(kiosk: Kiosk):
    kiosk.advance(1000, step=1.0)
    assert kiosk.c.session.phase is Phase.DIMMED
    assert kiosk.events() == []


def test_settings_from_the_injected_values(tmp_path):
    from .conftest import make_kiosk

    k = make_kiosk(tmp_path, idle_s=5, countdown_s=2, dim_s=7)
    try:
        s = k.c.session
        s.touch()
        k.advance(5)
        assert s.phase is Phase.STILL_THERE
        k.advance(2)
        assert s.phase is Phase.HOME
        k.advance(7)
        assert s.phase is Phase.DIMMED
    finally:
        k.c.close()
        k.client.close()
