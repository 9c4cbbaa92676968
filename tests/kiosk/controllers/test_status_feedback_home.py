"""Device status (honest connectivity, problems first), feedback (``survey.answered``),
and the home screen's offers with the language switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from edge_sync.protocol.campaign_list import parse_campaign_list
from edge_sync.protocol.ids import format_ts
from edge_sync.protocol.schemas import REGISTRY, UnknownEventType
from kiosk.controllers.feedback import (
    HIGH_REASONS,
    LOW_REASONS,
    SURVEY_TYPE,
    FeedbackStep,
    SurveyAnswered,
)
from kiosk.controllers.home import FALLBACK_VISUAL
from kiosk.controllers.session import Phase
from tests.edge.pickups.helpers import NOW
from tests.kiosk.scan_helpers import campaign_entry, list_doc

from .conftest import Kiosk


def _registered(name: str, v: int = 1) -> bool:
    try:
        REGISTRY.get(name, v)
    except UnknownEventType:
        return False
    return True


# -- status ------------------------------------------------------------------------------


def test_offline_since_first_seen_without_any_ack(kiosk: Kiosk):
    st = kiosk.c.status
    view = st.refresh()
    assert view.connectivity == "offline"
    assert view.strip_text == "Offline since 12:00 — everything you do is saved"
    kiosk.clock.advance(600)
    assert st.refresh().strip_text.startswith("Offline since 12:00")  # not "since 12:10"
    assert view.store_id == "s042" and view.device_id == "s042-k1"
    assert view.versions["catalog"] == "7" and view.versions["config"] == "3"
    assert view.versions["keys"] is not None and view.versions["campaigns"] is None


def test_online_syncing_and_offline_with_events_waiting(kiosk: Kiosk):
    out, st = kiosk.client.outbox, kiosk.c.status
    out.set_state("link_state", "connected")
    out.set_state("last_ack_at", format_ts(NOW - timedelta(minutes=2)))
    view = st.refresh()
    assert (view.connectivity, view.strip_text) == ("online", "Online · synced 11:58")
    assert view.problems == ()
    kiosk.c.session.touch()  # session.started
    kiosk.c.product.show("RJ-01")  # product.viewed
    view = st.refresh()
    assert (view.connectivity, view.strip_text) == ("syncing", "Online · sending 2 events")
    out.set_state("link_state", "disconnected")
    view = st.refresh()
    assert view.connectivity == "offline" and view.strip_text.startswith("Offline since 11:58")
    assert view.queue_depth == 2 and view.problems[0].startswith("2 events waiting since")
    assert view.rows[0] == ("Needs attention", view.problems[0])
    labels = [label for label, _ in view.rows]
    for label in ("Store", "Device", "Connection", "Waiting to send", "Oldest unsent event",
                  "Last sync", "Dead letters", "Catalog version", "Keys issued",
                  "Campaign list", "Config version", "Software version"):  # fmt: skip
        assert label in labels
    kiosk.c.session.set_language("de")
    view = st.view()
    assert view.strip_text.startswith("Offline seit 11:58") and view.rows[0][0] == "Bitte beachten"


def test_a_killed_daemon_is_not_taken_for_an_online_link(kiosk: Kiosk):
    """A daemon killed while online leaves link_state "connected": the strip must not
    believe it, and staff are told the sync service is not running."""
    out, st = kiosk.client.outbox, kiosk.c.status
    out.set_state("link_state", "connected")
    out.set_state("daemon_pid", os.getpid())  # alive: this process
    kiosk.c.session.touch()  # session.started: one event waiting
    view = st.refresh()
    assert (view.connectivity, view.strip_text) == ("syncing", "Online · sending 1 event")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs
    out.set_state("daemon_pid", dead.pid)
    view = st.refresh()
    assert view.connectivity == "offline"
    assert "The sync service is not running: everything is kept here until it starts again" in (
        view.problems
    )
    assert dict(view.rows)["Waiting to send"] == "1 event"


# -- feedback ----------------------------------------------------------------------------


def _answer(kiosk: Kiosk, rating: int, reason: str | None) -> bool:
    fb = kiosk.c.feedback
    kiosk.c.session.touch()
    fb.begin("pickup", order_id="o-1001")
    assert fb.step is FeedbackStep.RATE and fb.question() == "How was your pickup today?"
    assert [n for n, _ in fb.faces()] == [1, 2, 3, 4, 5]
    fb.rate(rating)
    assert fb.step is FeedbackStep.REASON
    return fb.choose(reason)


def test_no_thanks_records_nothing_and_starts_afresh(kiosk: Kiosk):
    fb, session = kiosk.c.feedback, kiosk.c.session
    session.touch()
    first = session.id
    fb.begin("visit", profile_id="p-00aa11")
    fb.decline()
    assert fb.step is FeedbackStep.IDLE and session.id != first
    assert kiosk.events(SURVEY_TYPE) == []
    fb.begin("visit")
    fb.rate(4)
    fb.decline()  # once a face is tapped, only the reasons (or skip) end it
    assert fb.step is FeedbackStep.REASON


def test_reasons_follow_the_rating(kiosk: Kiosk):
    fb = kiosk.c.feedback
    fb.begin("visit", profile_id="p-1")
    fb.rate(2)
    assert [r for r, _ in fb.reasons()] == list(LOW_REASONS)
    fb.begin("visit")
    fb.rate(5)
    assert [r for r, _ in fb.reasons()] == list(HIGH_REASONS)
    kiosk.c.session.set_language("de")
    assert dict(fb.reasons())["quick"] == "Schnell und einfach"


def test_feedback_goes_to_the_outbox(kiosk: Kiosk):
    assert _answer(kiosk, 2, "waited_long")
    [e] = kiosk.events(SURVEY_TYPE)
    assert e["data"]["rating"] == 2 and e["data"]["reason"] == "waited_long"
    assert e["data"]["order_id"] == "o-1001" and e["session_id"] == kiosk.c.session.id


def test_feedback_thanks_and_returns_home(kiosk: Kiosk):
    recorded = _answer(kiosk, 5, "waited_long")  # a low-rating chip under 5: not kept
    fb, s = kiosk.c.feedback, kiosk.c.session
    assert recorded is _registered(SURVEY_TYPE) and fb.last_recorded is recorded
    assert fb.step is FeedbackStep.THANKS and fb.thanks() == "Thank you!"
    first = s.id
    kiosk.advance(2.75)
    assert fb.step is FeedbackStep.THANKS and s.id == first
    kiosk.advance(0.25)
    assert fb.step is FeedbackStep.IDLE and s.id != first and s.phase is Phase.HOME
    [ended] = kiosk.events("session.ended")
    assert ended["data"]["reason"] == "done" and ended["session_id"] == first


def test_the_feedback_data_fits_the_proposed_schema():
    data = SurveyAnswered(context="pickup", rating=4, reason="quick", order_id="o-1")
    assert data.model_dump(exclude_none=True) == {
        "survey": "kiosk_feedback", "context": "pickup", "rating": 4, "scale": 5,
        "reason": "quick", "order_id": "o-1",
    }  # fmt: skip
    with pytest.raises(ValueError):
        SurveyAnswered(context="pickup", rating=6)
    with pytest.raises(ValueError):
        SurveyAnswered(context="pickup", rating=3, reason="free text")


# -- home --------------------------------------------------------------------------------


def _campaigns(kiosk: Kiosk, *ids: str) -> None:
    doc = list_doc([campaign_entry(i) for i in ids], as_of=NOW.date())
    kiosk.client.campaign_cache.apply_list(parse_campaign_list(json.dumps(doc).encode()))


def test_home_falls_back_without_campaigns(kiosk: Kiosk):
    [card] = kiosk.c.home.refresh()
    assert card.campaign_id is None and card.visual == FALLBACK_VISUAL
    assert card.text.startswith("Scan the code")
    kiosk.c.home.set_language("de")
    assert kiosk.c.home.card().text.startswith("Scannen Sie den Code")
    assert kiosk.c.home.scan_label() == "Code scannen"


def test_home_offers_rotate_and_switch_language(kiosk: Kiosk):
    _campaigns(kiosk, "cmp-1", "cmp-2")
    home = kiosk.c.home
    cards = home.refresh()
    assert [c.campaign_id for c in cards] == ["cmp-1", "cmp-2"]
    assert (
        cards[0].text == "cmp-1: 20% off boots" and cards[0].valid_text == "Valid until 30 Jun 2026"
    )
    assert (cards[0].visual_kind, cards[0].visual) == ("asset", "offers/boots.png")
    kiosk.advance(7.75)
    assert home.card().campaign_id == "cmp-1"
    home.hold()  # touched: the card stays a full interval more
    kiosk.advance(7.75)
    assert home.card().campaign_id == "cmp-1"
    kiosk.advance(0.25)
    assert home.card().campaign_id == "cmp-2"
    seen: list[str] = []
    home.subscribe(seen.append)
    home.set_language("de")
    assert seen == ["language"]
    assert home.card().text == "cmp-2: 20 % auf Stiefel"
    assert home.card().valid_text == "Gültig bis 30.06.2026"
    assert [(code, sel) for code, _, sel in home.languages()] == [("en", False), ("de", True)]
    kiosk.c.session.reset("timeout")
    assert kiosk.c.session.lang == "en" and home.index == 0
    assert home.card().text == "cmp-1: 20% off boots"
