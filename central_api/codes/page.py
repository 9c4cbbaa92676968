"""The small pages a phone sees at ``/q/{token}`` when the code is not a link to follow.

One self-contained HTML document per answer: no scripts, no external assets (the CSP
says so), large type, the system font, dark text on white. Every text comes from the
tables below; nothing of the request (least of all the token) is put into a page, so
there is nothing to escape but the few values the pages name (a date), and those are
escaped all the same.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import Literal

from edge_sync.protocol.tokens import MESSAGES, Reason

Lang = Literal["en", "de"]
LANGS: tuple[Lang, ...] = ("en", "de")

PageId = Literal[
    "check_in",
    "pickup",
    "campaign_unknown",
    "campaign_not_started",
    "campaign_ended",
    "unavailable",
]

#: (heading, text) per page and language; ``{day}`` is a date the page names
TEXTS: dict[PageId, dict[Lang, tuple[str, str]]] = {
    "check_in": {
        "en": (
            "Your check-in code",
            "Show this code at a kiosk in store: hold it up to the kiosk's camera, and it "
            "knows it is you.",
        ),
        "de": (
            "Ihr Check-in-Code",
            "Zeigen Sie diesen Code an einem Terminal im Geschäft: Halten Sie ihn vor die "
            "Kamera des Terminals, dann erkennt es Sie.",
        ),
    },
    "pickup": {
        "en": (
            "Your pickup code",
            "Show this code at the pickup counter in store, and we hand over your order.",
        ),
        "de": (
            "Ihr Abholcode",
            "Zeigen Sie diesen Code an der Abholtheke im Geschäft, dann erhalten Sie Ihre "
            "Bestellung.",
        ),
    },
    "campaign_unknown": {
        "en": ("Offer not found", "We do not know the offer this code belongs to."),
        "de": ("Angebot nicht gefunden", "Das Angebot zu diesem Code kennen wir nicht."),
    },
    "campaign_not_started": {
        "en": ("Not yet", "This offer starts on {day}. Please come back then."),
        "de": ("Noch nicht", "Dieses Angebot beginnt am {day}. Bitte kommen Sie dann wieder."),
    },
    "campaign_ended": {
        "en": ("Offer ended", "This offer has ended."),
        "de": ("Angebot beendet", "Dieses Angebot ist beendet."),
    },
    "unavailable": {
        "en": ("Please try again", "This page is not available right now. Please try again later."),
        "de": (
            "Bitte später erneut versuchen",
            "Diese Seite ist gerade nicht erreichbar. Bitte versuchen Sie es später noch einmal.",
        ),
    },
}

INVALID_HEADING: dict[Lang, str] = {
    "en": "This code cannot be used",
    "de": "Dieser Code ist nicht gültig",
}
#: the second line of an invalid code's page: what a person can still do
INVALID_HINT: dict[Lang, str] = {
    "en": "If you think it should work, please ask a member of staff in store.",
    "de": "Wenn der Code gelten sollte, fragen Sie bitte das Personal im Geschäft.",
}

#: where the kiosk's wording does not fit a phone (it speaks of "this kiosk" and of
#: reading a code, which the phone's camera has done); the other reasons say what the
#: kiosk says
PHONE_MESSAGES: dict[Reason, dict[Lang, str]] = {
    Reason.MALFORMED: {
        "en": "This link does not hold a code of ours. Please scan the code again.",
        "de": "Dieser Link enthält keinen Code von uns. Bitte scannen Sie den Code noch einmal.",
    },
    Reason.UNKNOWN_KEY: {
        "en": "This code is not one of ours.",
        "de": "Dieser Code stammt nicht von uns.",
    },
}


def reason_message(reason: Reason, lang: Lang) -> str:
    own = PHONE_MESSAGES.get(reason)
    if own is not None:
        return own[lang]
    texts = MESSAGES[reason]
    return texts.get(lang, texts["en"])


def choose_lang(accept_language: str | None) -> Lang:
    """English or German from an ``Accept-Language`` header (RFC 9110 §12.5.4): the
    supported language with the highest weight, the earlier on a tie; English when the
    header names neither, or cannot be read."""
    best: tuple[float, int] = (0.0, 0)
    chosen: Lang = "en"
    for i, item in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        lang = next((x for x in LANGS if x == primary), None)
        if lang is None:
            continue
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if 0 < q <= 1 and (q, -i) > best:
            best, chosen = (q, -i), lang
    return chosen


@dataclass(frozen=True, slots=True)
class Page:
    heading: str
    text: str
    lang: Lang
    #: invalid and error pages are marked so (a red mark); the others are information
    problem: bool
    #: a smaller second line, or none
    hint: str = ""


_MONTHS: dict[Lang, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
}  # fmt: skip


def spoken_day(iso_day: str, lang: Lang) -> str:
    """``2026-12-01`` as people write it: ``1 December 2026``, ``1. Dezember 2026``."""
    try:
        d = date.fromisoformat(iso_day)
    except ValueError:
        return iso_day
    sep = ". " if lang == "de" else " "
    return f"{d.day}{sep}{_MONTHS[lang][d.month - 1]} {d.year}"


def page_for(page: PageId, lang: Lang, day: str = "") -> Page:
    """``day``: an ISO day the page names (the day a campaign starts)."""
    heading, text = TEXTS[page][lang]
    problem = page in ("campaign_unknown", "campaign_ended", "unavailable")
    return Page(heading, text.format(day=spoken_day(day, lang) if day else ""), lang, problem)


def invalid_page(reason: Reason, lang: Lang) -> Page:
    return Page(INVALID_HEADING[lang], reason_message(reason, lang), lang, True, INVALID_HINT[lang])


_STYLE = (
    "html{-webkit-text-size-adjust:100%}"
    "body{margin:0;background:#fff;color:#111;"
    "font:1.25rem/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "main{max-width:32rem;margin:0 auto;padding:3rem 1.5rem}"
    ".mark{width:3.5rem;height:3.5rem;border-radius:50%;display:flex;align-items:center;"
    "justify-content:center;font-size:2rem;font-weight:700;color:#fff;background:#1d5fbf}"
    ".problem .mark{background:#b3261e}"
    "h1{font-size:clamp(1.6rem,8vw,2rem);line-height:1.2;margin:1.25rem 0 1rem;"
    "overflow-wrap:break-word}"
    "p{margin:0;font-size:1.375rem}"
    "p.hint{margin-top:1.5rem;font-size:1.125rem;color:#3d3d3d}"
)
#: the page's own style is its only resource; a hash would do, but the style is fixed
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def render(p: Page) -> str:
    cls = "problem" if p.problem else "info"
    mark = "!" if p.problem else "i"
    return (
        "<!doctype html>"
        f'<html lang="{p.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(p.heading)}</title><style>{_STYLE}</style></head>"
        f'<body class="{cls}"><main>'
        f'<div class="mark" aria-hidden="true">{mark}</div>'
        f"<h1>{html.escape(p.heading)}</h1><p>{html.escape(p.text)}</p>"
        + (f'<p class="hint">{html.escape(p.hint)}</p>' if p.hint else "")
        + "</main></body></html>"
    )
