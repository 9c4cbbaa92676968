"""The /q/ page's parts on their own: language choice, every reason's page, UTM links."""

from __future__ import annotations

import html

import pytest

from central_api.codes.page import (
    INVALID_HEADING,
    LANGS,
    TEXTS,
    choose_lang,
    invalid_page,
    page_for,
    render,
    spoken_day,
)
from central_api.domain.code_opens.opening import REASON_STATUS, with_utm
from edge_sync.protocol.tokens import MESSAGES, Reason

UTM = [("utm_source", "qr"), ("utm_medium", "email"), ("utm_campaign", "c1"),
       ("utm_content", "r")]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("de", "de"),
        ("de-AT", "de"),
        ("DE-de;q=0.4, en;q=0.3", "de"),
        ("en;q=0.5, de;q=0.8", "de"),
        ("de;q=0.5, en;q=0.5", "de"),  # a tie: the earlier
        ("fr, it;q=0.9", "en"),
        ("de;q=0", "en"),
        ("de;q=abc, en;q=0.1", "en"),
        (";;;,,,=", "en"),
        ("de;q=2", "en"),
        ("x" * 10_000 + ",de", "en"),  # only the first 1,000 characters are read
    ],
)
def test_language_from_accept_language(header, lang):
    assert choose_lang(header) == lang


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_a_status_and_a_page_in_both_languages(reason):
    assert REASON_STATUS[reason] in (400, 403, 410)
    for lang in LANGS:
        doc = render(invalid_page(reason, lang))
        assert f'<html lang="{lang}">' in doc and html.escape(INVALID_HEADING[lang]) in doc
        if reason not in (Reason.MALFORMED, Reason.UNKNOWN_KEY):
            assert html.escape(MESSAGES[reason][lang]) in doc
        # a phone is not at a kiosk: no message speaks of "this kiosk" or "Terminal"
        text = invalid_page(reason, lang).text.lower()
        assert "kiosk" not in text and "terminal" not in text


@pytest.mark.parametrize("page", list(TEXTS))
def test_every_page_in_both_languages(page):
    for lang in LANGS:
        doc = render(page_for(page, lang, "2026-12-01"))
        heading, _ = TEXTS[page][lang]
        assert html.escape(heading) in doc and "{day}" not in doc


def test_days_are_written_as_people_write_them():
    assert spoken_day("2026-12-01", "en") == "1 December 2026"
    assert spoken_day("2027-03-15", "de") == "15. März 2027"


@pytest.mark.parametrize(
    ("landing", "expected"),
    [
        ("https://s.example/a", "https://s.example/a?utm_source=qr&utm_medium=email"
         "&utm_campaign=c1&utm_content=r"),
        ("https://s.example", "https://s.example/?utm_source=qr&utm_medium=email"
         "&utm_campaign=c1&utm_content=r"),
        ("https://s.example/a?x=%20y&z=&utm_campaign=Spring#top",
         "https://s.example/a?x=%20y&z=&utm_campaign=Spring&utm_source=qr&utm_medium=email"
         "&utm_content=r#top"),
        ("http://s.example:8080/a?utm_source=mail&utm_medium=&utm_campaign=c&utm_content=x",
         "http://s.example:8080/a?utm_source=mail&utm_medium=&utm_campaign=c&utm_content=x"),
    ],
)  # fmt: skip
def test_utm_is_added_without_touching_what_the_landing_url_has(landing, expected):
    assert with_utm(landing, UTM) == expected
