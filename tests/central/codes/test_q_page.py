"""``GET /q/{token}``: campaign codes redirect with UTM and count once per code per day;
check-in and pickup codes get a page; every invalid code a page with its reason, in
English and German, with the status that fits; hostile input a clean 400."""

from __future__ import annotations

import html
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from central_api.codes.page import INVALID_HEADING, PHONE_MESSAGES, TEXTS
from central_api.domain.code_opens.opening import event_id, open_code
from central_api.domain.identity.erasure import erase_profile
from central_api.domain.tokens.revocations import revoke, revoke_profiles
from central_api.store.db import write_transaction
from central_api.store.profile_tables import online_events, touchpoints
from edge_sync.protocol import utcnow
from edge_sync.protocol.tokens import MESSAGES, Reason, Signer, campaign_scope
from tests.central.api.conftest import bearer

from .conftest import HOST, make_campaign, make_customer, path_of, sign

DE = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}


def opens_of(engine) -> int:
    with engine.connect() as c:
        return c.execute(
            select(func.count())
            .select_from(online_events)
            .where(online_events.c.type == "qr.opened")
        ).scalar_one()


def test_a_campaign_code_redirects_with_utm_and_keeps_the_landing_params(
    qclient, keys, engine, code_keys
):
    make_campaign(qclient, keys, "cmp-1",
                  landing_url="https://shop.example.com/winter?utm_source=flyer&size=42#boots")  # fmt: skip
    signer = code_keys.signer()
    r = qclient.get(path_of(signer, sign(signer, "c", "cmp-1")), follow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    where = urlsplit(r.headers["location"])
    assert (where.scheme, where.netloc, where.path, where.fragment) == (
        "https", "shop.example.com", "/winter", "boots")  # fmt: skip
    assert parse_qsl(where.query) == [
        ("utm_source", "flyer"),  # the landing URL's own value is kept, not doubled
        ("size", "42"),
        ("utm_medium", "direct_mail"),
        ("utm_campaign", "cmp-1"),
        ("utm_content", "c"),
    ]


def test_opens_count_once_per_code_per_day(qclient, keys, engine, code_keys):
    make_campaign(qclient, keys, "cmp-2", channel="poster")
    signer = code_keys.signer()
    token = sign(signer, "c", "cmp-2")
    path = path_of(signer, token)
    first = qclient.get(path, follow_redirects=False)
    assert first.status_code == 302 and "utm_medium=poster" in first.headers["location"]
    assert opens_of(engine) == 1
    # the same code again today, in lower case, on /q/: the same redirect, nothing new
    again = qclient.get(path.lower().replace("/q/", "/q/"), follow_redirects=False)
    assert again.status_code == 302 and again.headers["location"] == first.headers["location"]
    head = qclient.head(path, follow_redirects=False)
    assert head.status_code == 302, head.text  # a link checker: answered, not counted
    assert opens_of(engine) == 1
    with engine.connect() as c:
        row = c.execute(select(online_events).where(online_events.c.type == "qr.opened")).one()
    assert row.id == event_id(token.token_hash, utcnow().date().isoformat())
    assert (row.channel, row.source, row.customer_id, row.email_sha256) == (
        "web",
        "qr-page",
        None,
        None,
    )
    assert row.data == {"campaign_id": "cmp-2", "token_kind": "c", "token_hash": token.token_hash,
                        "recipient_id": None}  # fmt: skip
    # the next day counts again (the intake's own id uniqueness is the dedup)
    # (10:00 tomorrow, so that "an hour later" is the same day whenever the test runs)
    now = utcnow()
    tomorrow = now.replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    got = open_code(engine, code_keys.keyring(), token.text, tomorrow)
    assert got.status == 302 and got.counted
    later = open_code(
        engine, code_keys.keyring(), token.text.lower(), tomorrow + timedelta(hours=1)
    )
    assert later.status == 302 and not later.counted
    assert opens_of(engine) == 2
    report = qclient.get("/api/v1/campaigns/cmp-2/opens", headers=bearer(keys.marketer)).json()
    today = now.date()
    assert report == {
        "campaign_id": "cmp-2",
        "days": [{"day": today.isoformat(), "token_kind": "c", "opens": 1},
                 {"day": (today + timedelta(days=1)).isoformat(), "token_kind": "c", "opens": 1}],
        "totals": {"opens": 2, "codes": 1, "recipients": 0},
    }  # fmt: skip
    assert (
        qclient.get("/api/v1/campaigns/nope/opens", headers=bearer(keys.marketer)).status_code
        == 404
    )


def test_a_recipient_code_joins_the_recipients_journey_and_the_campaign_funnel(
    qclient, keys, engine, code_keys
):
    make_campaign(qclient, keys, "cmp-3", channel="email")
    pid = make_customer(qclient, keys, engine, "R-1")
    signer = code_keys.signer()
    token = sign(signer, "r", pid, campaign_id="cmp-3")
    r = qclient.get(path_of(signer, token), follow_redirects=False)
    assert r.status_code == 302
    assert dict(parse_qsl(urlsplit(r.headers["location"]).query))["utm_content"] == "r"
    journey = qclient.get(f"/api/v1/profiles/{pid}/journey", headers=bearer(keys.marketer)).json()
    opened = [t for t in journey["touchpoints"] if t["task"] == "open_campaign_link"]
    assert len(opened) == 1 and opened[0]["channel"] == "web"
    assert journey["current_stage"] == "interest"
    with engine.connect() as c:
        tasks = c.execute(
            select(touchpoints.c.task).where(touchpoints.c.profile_id == pid)
        ).scalars()
        assert "open_campaign_link" in list(tasks)
    funnel = qclient.get("/api/v1/funnel", params={"campaign": "cmp-3"},
                         headers=bearer(keys.marketer)).json()  # fmt: skip
    stages = {s["stage"]: s["profiles"] for s in funnel["stages"]}
    assert stages["interest"] == 1
    report = qclient.get("/api/v1/campaigns/cmp-3/opens", headers=bearer(keys.marketer)).json()
    assert report["totals"] == {"opens": 1, "codes": 1, "recipients": 1}
    # a recipient without profiling consent: counted, but no journey
    other = make_customer(qclient, keys, engine, "R-2", consent=False)
    qclient.get(
        path_of(signer, sign(signer, "r", other, campaign_id="cmp-3")), follow_redirects=False
    )
    j = qclient.get(f"/api/v1/profiles/{other}/journey", headers=bearer(keys.marketer)).json()
    assert j["touchpoints"] == [] and j["withheld"]
    assert opens_of(engine) == 2


def test_an_erased_recipients_code_is_revoked_and_counts_nothing(qclient, keys, engine, code_keys):
    make_campaign(qclient, keys, "cmp-4")
    pid = make_customer(qclient, keys, engine, "R-3")
    signer = code_keys.signer()
    path = path_of(signer, sign(signer, "r", pid, campaign_id="cmp-4"))
    with write_transaction(engine) as conn:
        revoke_profiles(conn, [pid], utcnow())
    r = qclient.get(path, follow_redirects=False)
    assert r.status_code == 410 and MESSAGES[Reason.REVOKED]["en"] in html.unescape(r.text)
    assert opens_of(engine) == 0


@pytest.mark.parametrize("kind", ["p", "o"])
def test_check_in_and_pickup_codes_say_where_to_show_them(qclient, keys, engine, code_keys, kind):
    signer = code_keys.signer()
    extra = {"store_id": "s1"} if kind == "o" else {}
    path = path_of(signer, sign(signer, kind, "p-0123456789abcdef0123" if kind == "p" else "o-1",
                                **extra))  # fmt: skip
    page = "check_in" if kind == "p" else "pickup"
    for headers, lang in (({}, "en"), (DE, "de")):
        r = qclient.get(path, headers=headers, follow_redirects=False)
        assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["content-language"] == lang and f'<html lang="{lang}">' in r.text
        heading, text = TEXTS[page][lang]
        assert html.escape(heading) in r.text and html.escape(text) in r.text
    assert opens_of(engine) == 0


def test_campaigns_not_running_say_so_and_count_nothing(qclient, keys, engine, code_keys):
    today = utcnow().date()
    make_campaign(qclient, keys, "soon", starts_on=(today + timedelta(days=3)).isoformat())
    make_campaign(qclient, keys, "over")
    assert (
        qclient.post("/api/v1/campaigns/over/end", headers=bearer(keys.marketer)).status_code == 200
    )
    signer = code_keys.signer()
    soon = qclient.get(path_of(signer, sign(signer, "c", "soon")), headers=DE)
    assert soon.status_code == 403
    start = today + timedelta(days=3)
    assert "Dieses Angebot beginnt am" in soon.text and f"{start.day}. " in soon.text
    over = qclient.get(path_of(signer, sign(signer, "c", "over")))
    assert over.status_code == 410 and "This offer has ended." in over.text
    unknown = qclient.get(path_of(signer, sign(signer, "c", "ghost")))
    assert unknown.status_code == 404 and TEXTS["campaign_unknown"]["en"][1] in unknown.text
    assert opens_of(engine) == 0


def _invalid_codes(engine, code_keys):
    """A code URL for each reason ``GET /q/`` can meet, and the status it must get."""
    signer = code_keys.signer()
    stranger = Signer(signer.kid, Ed25519PrivateKey.generate(), HOST)  # our key id, not our key
    unknown = Signer(99, Ed25519PrivateKey.generate(), HOST)
    good = sign(signer, "c", "cmp-x")
    tampered = list(path_of(signer, good))
    tampered[-5] = "A" if tampered[-5] != "A" else "B"
    revoked = sign(signer, "c", "cmp-r")
    with write_transaction(engine) as conn:
        revoke(conn, [campaign_scope("cmp-r")], utcnow())
    return {
        Reason.MALFORMED: ("/q/NOT-A-CODE", 400),
        Reason.BAD_SIGNATURE: (path_of(stranger, sign(stranger, "c", "cmp-x")), 400),
        Reason.UNKNOWN_KEY: (path_of(unknown, sign(unknown, "c", "cmp-x")), 400),
        Reason.EXPIRED: (path_of(signer, sign(signer, "c", "cmp-x", days=(-30, -1))), 410),
        Reason.NOT_YET_VALID: (path_of(signer, sign(signer, "c", "cmp-x", days=(2, 30))), 403),
        Reason.REVOKED: (path_of(signer, revoked), 410),
    }, "".join(tampered)


def test_every_invalid_reason_has_its_page_status_and_message(qclient, engine, code_keys):
    cases, tampered = _invalid_codes(engine, code_keys)
    for reason, (path, status) in cases.items():
        for headers, lang in (({}, "en"), (DE, "de"), ({"Accept-Language": "fr, de;q=0.5"}, "de"),
                              ({"Accept-Language": "*"}, "en")):  # fmt: skip
            r = qclient.get(path, headers=headers, follow_redirects=False)
            assert r.status_code == status, (reason, r.text)
            message = PHONE_MESSAGES.get(reason, MESSAGES[reason])[lang]
            assert html.escape(message) in r.text, (reason, lang)
            assert html.escape(INVALID_HEADING[lang]) in r.text
            assert r.headers["content-security-policy"].startswith("default-src 'none'")
            assert 'name="viewport"' in r.text and "<script" not in r.text
    r = qclient.get(tampered)
    assert r.status_code == 400 and MESSAGES[Reason.BAD_SIGNATURE]["en"] in r.text
    assert opens_of(engine) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/q/" + "A" * 5000,
        "/q/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/Q/<img src=x onerror=alert(1)>",
        "/q/%00%01%02%FF%FE",
        "/q/%C3%A4%E2%82%AC%F0%9F%98%80",
        "/q/HTTPS://EVIL.EXAMPLE/Q/AAAA",
        "/q/a/b/c/../../etc/passwd",
        "/q/",
        "/q/%E2%80%AE" + "B" * 100,
    ],
)
def test_hostile_tokens_get_a_clean_400_page(qclient, path):
    r = qclient.get(path, follow_redirects=False)
    assert r.status_code == 400 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert "This code cannot be used" in r.text
    for bad in ("<script", "<img", "onerror", "Traceback", "passwd", "AAAAAAAA", "EVIL"):
        assert bad not in r.text
    assert len(r.content) < 4000


def test_a_central_without_keys_answers_a_page_not_a_traceback(client):
    r = client.get("/q/ABCDEFGH", headers=DE)
    assert r.status_code == 503 and "Bitte später erneut versuchen" in r.text
    assert "Traceback" not in r.text


@pytest.mark.allow_logged_errors
def test_a_failure_inside_is_a_page_and_a_logged_error(qclient, code_keys, engine, logged_errors):
    engine.dispose()
    for table in ("token_revocations",):  # what verifying a good code reads first
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {table}")
    signer = code_keys.signer()
    r = qclient.get(path_of(signer, sign(signer, "c", "cmp-x")))
    assert r.status_code == 503 and "Please try again" in r.text and "Traceback" not in r.text
    assert any("could not answer a code" in rec.getMessage() for rec in logged_errors)


def test_integrations_cannot_post_qr_opened(qclient, keys, engine):
    doc = {"id": "0193a6f2-0000-7000-8000-0000000000aa", "type": "qr.opened", "v": 1,
           "occurred_at": "2026-11-20T09:10:00Z", "channel": "web", "source": "shop",
           "data": {"campaign_id": "cmp-1", "token_kind": "r", "token_hash": "ab" * 16,
                    "recipient_id": "p-0123456789abcdef0123"}}  # fmt: skip
    r = qclient.post("/api/v1/events", json={"events": [doc]}, headers=bearer(keys.integration))
    assert r.status_code == 200
    (rejected,) = r.json()["rejected"]
    assert rejected["reason"] == "unexpected" and "GET /q/{token}" in rejected["detail"]
    assert opens_of(engine) == 0


def test_erasing_a_recipient_removes_their_opens_and_stops_new_ones(
    qclient, keys, engine, code_keys
):
    make_campaign(qclient, keys, "cmp-5")
    pid = make_customer(qclient, keys, engine, "R-5")
    signer = code_keys.signer()
    path = path_of(signer, sign(signer, "r", pid, campaign_id="cmp-5"))
    assert qclient.get(path, follow_redirects=False).status_code == 302
    assert opens_of(engine) == 1
    with write_transaction(engine) as conn:
        erase_profile(conn, pid, "test", utcnow())
    assert opens_of(engine) == 0  # the open named the person: it goes with them
    r = qclient.get(path, follow_redirects=False)
    assert r.status_code == 410 and opens_of(engine) == 0
