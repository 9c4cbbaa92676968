"""Texts of the shopper's screens: search, the product page and the on-screen keyboard
(the stock and freshness words come from the controllers, ``kiosk/ui_texts.py``)."""

from __future__ import annotations

from . import _t

TEXTS = {
    "kbd_space": _t("Space", "Leerzeichen"),
    "kbd_close": _t("Hide", "Ausblenden"),
    "search_title": _t("Find a product", "Produkt finden"),
    "search_placeholder": _t("Type here", "Hier tippen"),
    "search_clear": _t("Clear", "Löschen"),
    "search_show_keyboard": _t("Show keyboard", "Tastatur zeigen"),
    "product_here": _t("Availability here", "Verfügbarkeit hier"),
    "product_nearby": _t("Nearby stores", "Filialen in der Nähe"),
    "product_nearby_none": _t(
        "No store nearby sells this product.",
        "Keine Filiale in der Nähe führt dieses Produkt.",
    ),
}
