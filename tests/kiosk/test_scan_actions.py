"""What a scan does at the kiosk, on a real edge.db: the events each kind of code puts in
the outbox (with what central checks), the outcome and message for every refusal, the
campaign cases, once per session, and typed fallback codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from edge_sync.protocol import REGISTRY
from edge_sync.protocol.tokens import (
    Reason,
    Revocation,
    Signer,
    campaign_scope,
    profile_scope,
    scope_hash,
    token_scope,
)
from edge_sync.protocol.tokens.fallback import display, fallback_of
from kiosk import i18n
from kiosk.controllers.scan import ACCEPTED, Outcome, ScanAction
from tests.kiosk.scan_helpers import (
    NOW,
    SIGNER,
    STORE,
    Device,
    campaign_entry,
    keypair,
    list_doc,
    sign,
    table_doc,
)


@pytest.fixture
def device(tmp_path) -> Iterator[Device]:
    d = Device(tmp_path / "edge.db")
    d.keys()
    d.campaigns(list_doc([campaign_entry("cmp-1"), campaign_entry("cmp-2")]))
    yield d
    d.close()


@pytest.fixture
def action(device: Device) -> ScanAction:
    return ScanAction(device.client)


def only(device: Device, type_: str) -> dict:
    (e,) = [e for e in device.events() if e["type"] == type_]
    return e


def assert_valid_events(device: Device) -> None:
    for e in device.events():
        REGISTRY.validate_data(e["type"], e["v"], e["data"])


# -- the table -------------------------------------------------------------------------


def test_a_profile_code_links_the_visit(device, action):
    tok = sign("p", "p-00aa11")
    out = action.scan(tok.text, "sess-1", now=NOW)
    assert out.outcome is Outcome.CHECKED_IN and out.accepted
    assert out.profile_id == "p-00aa11" and out.recorded == ("visit.linked",)
    assert out.message("en") == i18n.text("checked_in", "en") != out.message("de")
    (e,) = device.events()
    assert e["type"] == "visit.linked" and e["v"] == 2 and e["session_id"] == "sess-1"
    assert e["data"] == {"token": tok.text, "profile_id": "p-00aa11", "method": "qr",
                         "token_kind": "p", "campaign_id": None, "token_hash": tok.token_hash}  # fmt: skip
    assert_valid_events(device)


def test_a_recipient_code_links_the_visit_and_counts_the_campaign(device, action):
    tok = sign("r", "p-00bb22", campaign_id="cmp-1")
    url = SIGNER.url(tok)
    out = action.scan(url.lower(), "sess-1", now=NOW)  # as a phone-made QR might hold it
    assert out.outcome is Outcome.OFFER and out.offer_shown
    assert out.profile_id == "p-00bb22" and out.campaign is not None
    assert out.campaign.id == "cmp-1"
    assert out.offer_text("en") == "cmp-1: 20% off boots"
    assert out.offer_text("de") == "cmp-1: 20 % auf Stiefel"
    assert out.offer_text("fr") == "cmp-1: 20% off boots"  # no French: English
    assert out.recorded == ("visit.linked", "campaign.scanned")
    link, scan = only(device, "visit.linked"), only(device, "campaign.scanned")
    assert link["data"]["token_kind"] == "r" and link["data"]["campaign_id"] == "cmp-1"
    assert scan["data"] == {"token": tok.text, "campaign_id": "cmp-1", "recipient_id": "p-00bb22",
                            "offer_shown": True, "token_hash": tok.token_hash}  # fmt: skip
    assert link["session_id"] == scan["session_id"] == "sess-1"
    assert_valid_events(device)


def test_a_generic_campaign_code_counts_the_scan_only(device, action):
    tok = sign("c", "cmp-2")
    out = action.scan(tok.text, "sess-1", now=NOW)
    assert out.outcome is Outcome.OFFER and out.profile_id is None
    assert out.recorded == ("campaign.scanned",)
    (e,) = device.events()
    assert e["data"]["recipient_id"] is None and e["data"]["campaign_id"] == "cmp-2"
    assert_valid_events(device)


def test_a_pickup_code_goes_to_the_pickup_flow_and_is_refused_once_used(device, action):
    tok = sign("o", "ord-77", store_id=STORE)
    out = action.scan(tok.text, "sess-1", now=NOW)
    assert out.outcome is Outcome.PICKUP and out.token == tok and out.recorded == ()
    assert device.events() == []  # the pickup flow records the handover
    assert action.scan(tok.text, "sess-1", now=NOW).outcome is Outcome.PICKUP  # not used yet
    device.client.mark_code_used(out.token)
    again = action.scan(tok.text, "sess-2", now=NOW)
    assert again.outcome is Outcome.ALREADY_USED and not again.accepted
    (e,) = device.events()
    assert e["data"] == {"valid": False, "reason": "already_used", "kind": "o", "kid": 1,
                         "token_hash": tok.token_hash, "typed": False}  # fmt: skip


# -- refusals -----------------------------------------------------------------------------

FORGER, _ = keypair(1)  # same key id, another key: a forged code
_, PUBLIC_2 = keypair(2)


def _tampered() -> str:
    text = sign("p", "p-00cc33").text
    i = 20
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


REFUSALS = {
    "forged": (
        lambda: (
            FORGER.sign(
                "p", "p-0666", not_before=date(2026, 1, 1), not_after=date(2026, 12, 31)
            ).text
        ),
        Outcome.BAD_SIGNATURE,
    ),
    "tampered": (_tampered, Outcome.BAD_SIGNATURE),
    "unknown key": (
        lambda: (
            Signer(9, FORGER.private, "shop.example.com")
            .sign("p", "p-01", not_before=date(2026, 1, 1), not_after=date(2026, 12, 31))
            .text
        ),
        Outcome.UNKNOWN_KEY,
    ),
    "expired": (lambda: sign("p", "p-01", not_after=date(2026, 6, 9)).text, Outcome.EXPIRED),
    "not yet valid": (
        lambda: sign("c", "cmp-1", not_before=date(2026, 6, 11)).text,
        Outcome.NOT_YET_VALID,
    ),
    "revoked": (lambda: sign("r", "p-0dead", campaign_id="cmp-1").text, Outcome.REVOKED),
    "another store's pickup code": (
        lambda: sign("o", "ord-1", store_id="s001").text,
        Outcome.NOT_FOR_THIS_STORE,
    ),
    "garbage base32": (lambda: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", Outcome.MALFORMED),
    "cut short": (lambda: sign("p", "p-01").text[:60], Outcome.MALFORMED),
    "code url cut short": (
        lambda: "HTTPS://SHOP.EXAMPLE.COM/Q/" + sign("p", "p-01").text[:-9],
        Outcome.MALFORMED,
    ),
    "oversized code-like": (lambda: "A" * 5000, Outcome.MALFORMED),
    "oversized junk": (lambda: "x!" * 50_000, Outcome.NOT_OURS),
    "binary": (lambda: bytes(range(256)), Outcome.NOT_OURS),
    "oversized binary": (lambda: b"\x00\xff" * 100_000, Outcome.NOT_OURS),
    "wifi": (lambda: "WIFI:T:WPA;S:Backoffice;P:hunter2;;", Outcome.NOT_OURS),
    "plain url": (lambda: "https://www.example.org/menu", Outcome.NOT_OURS),
    "empty": (lambda: "", Outcome.NOT_OURS),
    "not text": (lambda: 12345, Outcome.NOT_OURS),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_every_refusal_has_its_reason_a_message_and_a_qr_scanned(device, action, case):
    device.keys([Revocation(scope_hash(profile_scope("p-0dead")), 255, date(2026, 12, 31))])
    make, expected = REFUSALS[case]
    code = make()
    out = action.scan(code, "sess-1", now=NOW)
    assert out.outcome is expected and not out.accepted and out.token is None
    en, de = out.message("en"), out.message("de")
    assert en and de and en != de
    (e,) = device.events()
    assert e["type"] == "qr.scanned" and e["v"] == 2
    assert e["data"]["valid"] is False and e["data"]["reason"] == expected.value
    if expected is Outcome.NOT_OURS:  # nothing of a foreign code is kept
        assert {k: v for k, v in e["data"].items() if v is not None} == {
            "valid": False, "reason": "not_ours", "typed": False}  # fmt: skip
    assert_valid_events(device)


def test_a_screen_that_takes_only_pickup_codes_refuses_others_as_wrong_kind(device):
    pickup_screen = ScanAction(device.client, kinds=("o",))
    tok = sign("p", "p-01")
    out = pickup_screen.scan(tok.text, "sess-1", now=NOW)
    assert out.outcome is Outcome.WRONG_KIND
    assert "something else" in out.message("en") and "etwas anderes" in out.message("de")
    assert only(device, "qr.scanned")["data"]["kind"] == "p"


def test_revoked_campaign_and_single_codes(device, action):
    one = sign("c", "cmp-1", generation=0)
    leaked = sign("r", "p-0aa", campaign_id="cmp-2")
    device.keys([Revocation(scope_hash(campaign_scope("cmp-1")), 0, date(2026, 12, 31)),
                 Revocation(scope_hash(token_scope(leaked.token_hash)), 0, date(2026, 12, 31))])  # fmt: skip
    assert action.scan(one.text, "s", now=NOW).outcome is Outcome.REVOKED
    assert action.scan(sign("c", "cmp-1", generation=1).text, "s", now=NOW).outcome is (
        Outcome.OFFER
    )
    assert action.scan(leaked.text, "s", now=NOW).outcome is Outcome.REVOKED
    assert action.scan(sign("r", "p-0bb", campaign_id="cmp-2").text, "s", now=NOW).accepted


# -- campaigns the list does not show running ------------------------------------------------


def test_campaign_codes_by_what_the_stored_list_says(device, action):
    device.campaigns(list_doc([
        campaign_entry("cmp-1"),
        campaign_entry("cmp-soon", starts="2026-06-20", ends="2026-07-20"),
        campaign_entry("cmp-old", starts="2026-05-01", ends="2026-06-09"),
        campaign_entry("cmp-half", valid_until="2026-06-05"),  # offer shorter than campaign
    ], version=2))  # fmt: skip
    cases = {"cmp-1": Outcome.OFFER, "cmp-soon": Outcome.CAMPAIGN_NOT_STARTED,
             "cmp-old": Outcome.CAMPAIGN_ENDED, "cmp-half": Outcome.CAMPAIGN_ENDED,
             "cmp-else": Outcome.CAMPAIGN_NOT_HERE}  # fmt: skip
    for cid, expected in cases.items():
        tok = sign("r", "p-0c1", campaign_id=cid)
        out = action.scan(tok.text, f"sess-{cid}", now=NOW)
        assert out.outcome is expected, cid
        assert out.accepted and out.profile_id == "p-0c1"
        assert out.recorded == ("visit.linked", "campaign.scanned")
        assert out.message("de") != out.message("en")
        assert (out.offer_text("en") is not None) is (expected is Outcome.OFFER)
    shown = {e["data"]["campaign_id"]: e["data"]["offer_shown"]
             for e in device.events() if e["type"] == "campaign.scanned"}  # fmt: skip
    assert shown == {cid: cid == "cmp-1" for cid in cases}
    assert [c.id for c in device.client.campaigns(NOW.date())] == ["cmp-1"]
    assert_valid_events(device)


def test_without_a_current_list_a_genuine_code_counts_and_the_offer_shows_if_known(tmp_path):
    d = Device(tmp_path / "edge.db")
    d.keys()
    action = ScanAction(d.client)
    tok = sign("c", "cmp-1")
    # never received a list (a new kiosk, offline since it was set up)
    out = action.scan(tok.text, "sess-1", now=NOW)
    assert out.outcome is Outcome.OFFER_UNAVAILABLE and out.recorded == ("campaign.scanned",)
    # a list from two days ago: the campaign on it still shows; one not on it may be new
    d.campaigns(list_doc([campaign_entry("cmp-1")], as_of=NOW.date() - timedelta(days=2)))
    assert action.scan(tok.text, "sess-2", now=NOW).outcome is Outcome.OFFER
    assert action.scan(sign("c", "cmp-new").text, "sess-2", now=NOW).outcome is (
        Outcome.OFFER_UNAVAILABLE
    )
    shown = [e["data"]["offer_shown"] for e in d.events()]
    assert shown == [False, True, False]
    d.close()


# -- once per session ------------------------------------------------------------------------


def test_a_code_is_recorded_once_per_session_and_always_answered(device, action):
    p, r = sign("p", "p-0d1"), sign("r", "p-0d1", campaign_id="cmp-1")
    first = action.scan(p.text, "sess-1", now=NOW)
    again = action.scan(p.text.lower(), "sess-1", now=NOW)
    assert first.recorded == ("visit.linked",) and not first.repeat
    assert again.outcome is Outcome.CHECKED_IN and again.repeat and again.recorded == ()
    assert action.scan(r.text, "sess-1", now=NOW).recorded == ("visit.linked", "campaign.scanned")
    assert action.scan(r.text, "sess-1", now=NOW).repeat
    for _ in range(3):
        assert action.scan("WIFI:S:x;;", "sess-1", now=NOW).outcome is Outcome.NOT_OURS
    # the next shopper scanning the same code is recorded again
    assert action.scan(p.text, "sess-2", now=NOW).recorded == ("visit.linked",)
    types = [(e["type"], e["session_id"]) for e in device.events()]
    assert types == [("visit.linked", "sess-1"), ("visit.linked", "sess-1"),
                     ("campaign.scanned", "sess-1"), ("qr.scanned", "sess-1"),
                     ("visit.linked", "sess-2")]  # fmt: skip


def test_a_full_outbox_is_said_and_nothing_raises(tmp_path):
    d = Device(tmp_path / "edge.db", max_rows=1)
    d.keys()
    d.campaigns(list_doc([campaign_entry("cmp-1")]))
    action = ScanAction(d.client)
    assert action.scan(sign("p", "p-01").text, "s1", now=NOW).outcome is Outcome.CHECKED_IN
    out = action.scan(sign("r", "p-02", campaign_id="cmp-1").text, "s1", now=NOW)
    assert out.outcome is Outcome.NOT_RECORDED and not out.accepted
    assert "cannot save" in out.message("en") and "nicht speichern" in out.message("de")
    # not remembered as done: the shopper may try again once there is room
    assert not action.scan(sign("r", "p-02", campaign_id="cmp-1").text, "s1", now=NOW).repeat
    d.close()


# -- typed fallback codes ----------------------------------------------------------------------


@pytest.fixture
def tables(device: Device):
    good = sign("r", "p-0e1", campaign_id="cmp-1")
    revoked = sign("r", "p-0e2", campaign_id="cmp-1")
    device.table(table_doc("cmp-1", [good, revoked], "2026-06-01T08:00:00Z"))
    device.keys([Revocation(scope_hash(token_scope(revoked.token_hash)), 0, date(2026, 12, 31))])
    return good, revoked


def test_a_typed_fallback_code_works_like_the_scanned_token(device, action, tables):
    good, _ = tables
    typed = display(fallback_of(good.text)).lower().replace("-", " ")
    out = action.typed(typed, "sess-1", now=NOW)
    assert out.outcome is Outcome.OFFER and out.typed and out.token == good
    assert out.profile_id == "p-0e1" and out.recorded == ("visit.linked", "campaign.scanned")
    assert only(device, "campaign.scanned")["data"]["token"] == good.text
    assert action.typed(fallback_of(good.text), "sess-1", now=NOW).repeat
    assert_valid_events(device)


def _typo(code: str, pos: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    c = alphabet[(alphabet.index(code[pos]) + 1) % 32]
    return code[:pos] + c + code[pos + 1 :]


def test_typed_codes_that_are_wrong_say_what_to_check(device, action, tables):
    good, revoked = tables
    code = fallback_of(good.text)
    swapped = code[1] + code[0] + code[2:] if code[0] != code[1] else _typo(code, 0)
    cases = {
        _typo(code, 3): (Outcome.BAD_FALLBACK, "fallback_check"),
        swapped: (Outcome.BAD_FALLBACK, "fallback_check"),
        code[:-2]: (Outcome.BAD_FALLBACK, "fallback_length"),
        "U" + code[1:]: (Outcome.BAD_FALLBACK, "fallback_character"),
        "0000-0000-0000": (Outcome.UNKNOWN_FALLBACK, "unknown_fallback"),
        fallback_of(revoked.text): (Outcome.REVOKED, "revoked"),
    }
    for n, (typed, (outcome, key)) in enumerate(cases.items()):
        out = action.typed(typed, f"sess-{n}", now=NOW)
        assert (out.outcome, out.text_key) == (outcome, key), typed
        assert out.typed and not out.accepted
        assert out.message("en") == i18n.text(key, "en") and out.message("de") != out.message("en")
    reasons = [(e["data"]["reason"], e["data"]["typed"]) for e in device.events()]
    assert reasons == [("malformed", True)] * 4 + [("unknown_fallback", True), ("revoked", True)]
    assert_valid_events(device)


def test_a_code_table_not_stored_resolves_nothing(device, action):
    tok = sign("r", "p-0f1", campaign_id="cmp-2")
    assert action.typed(fallback_of(tok.text), "s", now=NOW).outcome is Outcome.UNKNOWN_FALLBACK
    assert action.typed(None, "s", now=NOW).outcome is Outcome.BAD_FALLBACK


def test_every_outcome_has_english_and_german_text():
    for outcome in Outcome:
        key = outcome.value if outcome is not Outcome.BAD_FALLBACK else "fallback_check"
        assert i18n.text(key, "en") and i18n.text(key, "de") != i18n.text(key, "en")
    for reason in Reason:
        assert Outcome(reason.value) not in ACCEPTED
