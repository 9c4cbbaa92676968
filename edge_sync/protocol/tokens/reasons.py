"""Why a code is refused (``Reason``), in plain words for the shopper (``MESSAGES``), and
the one exception the verifier raises (``InvalidToken``). Apart from the verifier (and
its signature library) so that the kiosk's texts can name every reason without it.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    WRONG_KIND = "wrong_kind"
    ALREADY_USED = "already_used"
    NOT_FOR_THIS_STORE = "not_for_this_store"


#: what the kiosk tells the shopper, per reason and language
MESSAGES: dict[Reason, dict[str, str]] = {
    Reason.MALFORMED: {
        "en": "We could not read this code. Please try again, or ask a member of staff.",
        "de": "Dieser Code ist nicht lesbar. Bitte noch einmal versuchen oder beim Personal fragen.",
    },
    Reason.BAD_SIGNATURE: {
        "en": "This code is not one of ours, or it has been changed.",
        "de": "Dieser Code stammt nicht von uns oder wurde verändert.",
    },
    Reason.UNKNOWN_KEY: {
        "en": "This code is not one of ours, or this kiosk has not been updated for it yet.",
        "de": "Dieser Code stammt nicht von uns, oder dieses Terminal kennt ihn noch nicht.",
    },
    Reason.EXPIRED: {
        "en": "This code has expired.",
        "de": "Dieser Code ist abgelaufen.",
    },
    Reason.NOT_YET_VALID: {
        "en": "This code is not valid yet. Please come back on the date it shows.",
        "de": "Dieser Code gilt noch nicht. Bitte ab dem angegebenen Datum wiederkommen.",
    },
    Reason.REVOKED: {
        "en": "This code is no longer valid.",
        "de": "Dieser Code ist nicht mehr gültig.",
    },
    Reason.WRONG_KIND: {
        "en": "This code is for something else and cannot be used here.",
        "de": "Dieser Code ist für etwas anderes und kann hier nicht verwendet werden.",
    },
    Reason.ALREADY_USED: {
        "en": "This code has already been used.",
        "de": "Dieser Code wurde bereits verwendet.",
    },
    Reason.NOT_FOR_THIS_STORE: {
        "en": "This code is for another store.",
        "de": "Dieser Code gilt für eine andere Filiale.",
    },
}


class InvalidToken(Exception):
    """A code that must not be accepted; ``reason`` says why, ``detail`` for the log."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail

    def message(self, lang: str = "en") -> str:
        texts = MESSAGES[self.reason]
        return texts.get(lang, texts["en"])
