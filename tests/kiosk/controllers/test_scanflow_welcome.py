"""The scan flow and the welcome screen without widgets: "Got it" before the check,
where each outcome leads, the typed-code entry, the greeting without personal data,
the offer, the consent prompt (once per profile per session) and "Done"."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from edge_sync.protocol.campaign_list import parse_campaign_list
from edge_sync.protocol.tokens.code_table import parse_code_table
from edge_sync.protocol.tokens.fallback import fallback_of
from kiosk.controllers.feedback import FeedbackStep
from kiosk.controllers.scan import Outcome
from kiosk.controllers.scanflow import KEY_ROWS, ScanFlowController, ScanStep
from kiosk.controllers.welcome import CONSENT_TEXT_VERSION, WelcomeController
from kiosk.settings import BadKioskSettings, KioskSettings
from tests.edge.pickups.helpers import SIGNER
from tests.kiosk.scan_helpers import campaign_entry, list_doc, table_doc

from .conftest import Kiosk

TODAY = date.today()  # ScanAction checks against the real clock


def _sign(kind: str, subject: str, **kw):
    kw.setdefault("not_before", TODAY - timedelta(days=3))
    kw.setdefault("not_after", TODAY + timedelta(days=20))
    return SIGNER.sign(kind, subject, **kw)


def _campaign(kiosk: Kiosk, cid: str = "cmp-1", tokens=()) -> None:
    start, end = TODAY - timedelta(days=2), TODAY + timedelta(days=9)
    doc = list_doc([campaign_entry(cid, start.isoformat(), end.isoformat())], as_of=TODAY)
    kiosk.client.campaign_cache.apply_list(parse_campaign_list(json.dumps(doc).encode()))
    if tokens:
        table = table_doc(cid, tokens, f"{TODAY.isoformat()}T08:00:00Z")
        kiosk.client.campaign_cache.apply_code_table(
            cid, parse_code_table(json.dumps(table).encode())
        )


def _flows(kiosk: Kiosk) -> tuple[ScanFlowController, WelcomeController]:
    return ScanFlowController.of(kiosk.c), WelcomeController.of(kiosk.c)


def test_got_it_comes_before_the_check_and_a_visit_goes_to_welcome(kiosk: Kiosk):
    flow, welcome = _flows(kiosk)
    assert ScanFlowController.of(kiosk.c) is flow  # one per kiosk
    flow.enter()
    tok = _sign("p", "p-00aa11")
    assert flow.read(SIGNER.url(tok), frame_ts=1.0)
    assert flow.step is ScanStep.GOT and kiosk.events("visit.linked") == []  # not checked yet
    assert not flow.read("another code")  # one code at a time
    assert flow.check() == "welcome"
    assert flow.outcome.outcome is Outcome.CHECKED_IN
    assert [k for k, _ in flow.trace] == ["frame", "got_it", "check_start", "checked"]
    assert len(kiosk.events("visit.linked")) == 1
    welcome.show(flow.outcome)
    assert welcome.greeting() == "Welcome back!" and welcome.offer() is None
    assert "p-00aa11" not in welcome.greeting() + welcome.message()


@pytest.mark.parametrize(
    ("code", "message", "next_words"),
    [
        (lambda: _sign("p", "p-1", not_before=TODAY - timedelta(days=30),
                       not_after=TODAY - timedelta(days=1)),
         "This code has expired.", "scan a newer code"),
        (lambda: _sign("o", "ord-9", store_id="s099"),
         "This code is for another store.", "the store it names"),
        (lambda: "WIFI:S:home;P:secret;;", "This QR code is not one of ours", ""),
    ],
)  # fmt: skip
def test_a_refused_code_stays_with_plain_words_and_what_next(kiosk, code, message, next_words):
    flow, _ = _flows(kiosk)
    flow.enter()
    made = code()
    flow.read(made if isinstance(made, str) else SIGNER.url(made))
    assert flow.check() is None and flow.step is ScanStep.RESULT and flow.refused()
    assert flow.message().startswith(message)
    assert next_words in flow.next_step()
    assert len(kiosk.events("qr.scanned")) == 1
    flow.again()
    assert flow.step is ScanStep.READING and flow.outcome is None


def test_a_pickup_code_points_to_the_staff_desk(kiosk: Kiosk):
    flow, _ = _flows(kiosk)
    flow.enter()
    flow.read(SIGNER.url(_sign("o", "ord-7", store_id="s042")))
    assert flow.check() is None and flow.outcome.outcome is Outcome.PICKUP
    assert not flow.refused() and "pickup desk" in flow.next_step()


def test_the_typed_code_grid_and_its_check(kiosk: Kiosk):
    tok = _sign("r", "p-00bb22", campaign_id="cmp-1")
    _campaign(kiosk, tokens=[tok])
    flow, welcome = _flows(kiosk)
    flow.open_typing()
    assert flow.step is ScanStep.TYPING and kiosk.c.session.keyboard_open
    code = fallback_of(tok.text)
    keys = "".join(KEY_ROWS)
    for char in code + "X":  # a 13th key press is ignored
        assert char in keys
        flow.key(char)
    assert flow.typed_text == code and flow.can_submit()
    assert flow.typed_shown() == f"{code[:4]} {code[4:8]} {code[8:]}"
    flow.backspace()
    assert not flow.can_submit()
    flow.key(code[-1])
    assert flow.submit() == "welcome" and not kiosk.c.session.keyboard_open
    welcome.show(flow.outcome)
    offer = welcome.offer()
    assert offer is not None and offer.text == "cmp-1: 20% off boots"
    assert offer.valid_text.startswith("Valid until") and offer.visual == "offers/boots.png"


def test_a_mistyped_code_says_what_to_check(kiosk: Kiosk):
    flow, _ = _flows(kiosk)
    flow.open_typing()
    for char in "ABCD":
        flow.key(char)
    assert flow.submit() is None and flow.step is ScanStep.RESULT
    assert "12 characters" in flow.message()


def test_consent_once_per_profile_per_session_then_feedback(kiosk: Kiosk):
    flow, welcome = _flows(kiosk)
    flow.enter()
    flow.read(SIGNER.url(_sign("p", "p-00aa11")))
    flow.check()
    welcome.show(flow.outcome)
    assert welcome.asks_consent()
    assert welcome.answer_consent(False)
    assert not welcome.asks_consent() and "will not use" in welcome.consent_answer_text()
    assert not welcome.answer_consent(True)  # one answer
    (event,) = kiosk.events("consent.recorded")
    assert event["data"] == {"profile_id": "p-00aa11", "purpose": "profiling", "granted": False,
                             "method": "kiosk_prompt", "text_version": CONSENT_TEXT_VERSION}  # fmt: skip
    assert event["session_id"] == kiosk.c.session.id
    welcome.show(flow.outcome)  # the same profile again in this session: not asked again
    assert not welcome.asks_consent()
    assert welcome.done() == "feedback"
    assert kiosk.c.feedback.step is FeedbackStep.RATE
    kiosk.c.session.reset("done")
    assert welcome.outcome is None and flow.outcome is None
    welcome.show(flow.outcome or _checked_in(kiosk))
    assert welcome.asks_consent()  # a new session, a new shopper


def _checked_in(kiosk: Kiosk):
    flow = ScanFlowController.of(kiosk.c)
    flow.enter()
    flow.read(SIGNER.url(_sign("p", "p-00dd44")))
    flow.check()
    return flow.outcome


def test_a_campaign_code_without_a_profile_asks_nothing_and_done_goes_home(kiosk: Kiosk):
    _campaign(kiosk, "cmp-2")
    flow, welcome = _flows(kiosk)
    flow.enter()
    kiosk.c.session.begin("qr_scan")
    flow.read(SIGNER.url(_sign("c", "cmp-2")))
    assert flow.check() == "welcome"
    welcome.show(flow.outcome)
    assert welcome.greeting() == "Welcome!" and not welcome.asks_consent()
    assert welcome.offer() is not None
    first = kiosk.c.session.id
    assert welcome.done() == "home" and kiosk.c.session.id != first


def test_the_camera_setting():
    assert KioskSettings().camera == "device:0"
    for ok in ("device:1", "file:/tmp/frames", "none"):
        assert KioskSettings(camera=ok).camera == ok
    for bad in ("0", "device:x", "file:", "usb"):
        with pytest.raises(BadKioskSettings, match=r"kiosk\.camera"):
            KioskSettings(camera=bad)
