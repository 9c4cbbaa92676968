"""Every text the kiosk shows a shopper, in English and German, in one place.

``text(key, lang)`` gives a text in ``lang``, or in English when there is no such
language. The verifier's reasons for refusing a code (``tokens.MESSAGES``) are keys here
too, by their value (``"expired"``), so a screen asks one module whatever it shows.
"""

from __future__ import annotations

from edge_sync.protocol.tokens import MESSAGES

from .texts import collect
from .ui_texts import UI_TEXTS

LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = (
    {reason.value: dict(texts) for reason, texts in MESSAGES.items()}
    | {
        "checked_in": {
            "en": "Welcome! You are checked in.",
            "de": "Willkommen! Sie sind angemeldet.",
        },
        "offer": {
            "en": "Here is your offer.",
            "de": "Hier ist Ihr Angebot.",
        },
        "offer_unavailable": {
            "en": "Thank you, your code has been recorded. This kiosk cannot show the offer "
            "right now; please ask a member of staff.",
            "de": "Danke, Ihr Code wurde erfasst. Dieses Terminal kann das Angebot gerade nicht "
            "anzeigen; bitte beim Personal fragen.",
        },
        "campaign_not_here": {
            "en": "This offer is not available in this store.",
            "de": "Dieses Angebot gilt nicht in dieser Filiale.",
        },
        "campaign_not_started": {
            "en": "This offer has not started yet. Please come back on the date it shows.",
            "de": "Dieses Angebot gilt noch nicht. Bitte ab dem angegebenen Datum wiederkommen.",
        },
        "campaign_ended": {
            "en": "This offer has ended.",
            "de": "Dieses Angebot ist beendet.",
        },
        "pickup": {
            "en": "Your pickup code is valid.",
            "de": "Ihr Abholcode ist gültig.",
        },
        "not_ours": {
            "en": "This QR code is not one of ours. Please scan the code from our email, "
            "letter or flyer.",
            "de": "Dieser QR-Code stammt nicht von uns. Bitte den Code aus unserer E-Mail, "
            "unserem Brief oder Flyer scannen.",
        },
        "fallback_length": {
            "en": "A code has 12 characters. Please check what you typed.",
            "de": "Ein Code hat 12 Zeichen. Bitte die Eingabe prüfen.",
        },
        "fallback_character": {
            "en": "This code has a character our codes do not use. Please check what you typed.",
            "de": "Dieser Code enthält ein Zeichen, das in unseren Codes nicht vorkommt. Bitte "
            "die Eingabe prüfen.",
        },
        "fallback_check": {
            "en": "This code has a typing mistake. Please check each character again.",
            "de": "Dieser Code enthält einen Tippfehler. Bitte jedes Zeichen noch einmal prüfen.",
        },
        "unknown_fallback": {
            "en": "This code is not known in this store. Please check it, or scan the QR code.",
            "de": "Dieser Code ist in dieser Filiale nicht bekannt. Bitte prüfen oder den "
            "QR-Code scannen.",
        },
        "not_recorded": {
            "en": "Sorry, this kiosk cannot save your scan right now. Please ask a member of staff.",
            "de": "Entschuldigung, dieses Terminal kann Ihren Scan gerade nicht speichern. Bitte "
            "beim Personal fragen.",
        },
    }
    | UI_TEXTS
)
_SCREEN_TEXTS = collect()
_TWICE = set(_SCREEN_TEXTS) & set(TEXTS)
if _TWICE:
    raise ValueError(f"kiosk texts defined twice: {', '.join(sorted(_TWICE))}")
TEXTS |= _SCREEN_TEXTS


def text(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The text for ``key`` in ``lang`` (English when ``lang`` has none). ``KeyError``
    for a key that does not exist: a screen asking for one is a bug to see at once."""
    texts = TEXTS[key]
    return texts.get(lang) or texts[DEFAULT_LANGUAGE]
