"""Texts of the app's frame: the "Still there?" overlay and the back button."""

from __future__ import annotations

from . import _t

TEXTS = {
    "still_there_title": _t("Still there?", "Sind Sie noch da?"),
    "still_here": _t("Yes, I am still here", "Ja, ich bin noch da"),
    "back": _t("Back", "Zurück"),
}
