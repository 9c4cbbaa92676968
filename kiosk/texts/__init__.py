"""The screens' texts, one module per screen or area (``TEXTS = {key: {"en", "de"}}``),
merged here so every string still goes through ``kiosk.i18n.text``. A key defined twice
is an error at import, not a silent override."""

from __future__ import annotations

import importlib
import pkgutil


def _t(en: str, de: str) -> dict[str, str]:
    return {"en": en, "de": de}


def collect() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, texts in getattr(module, "TEXTS", {}).items():
            if key in merged:
                raise ValueError(f"kiosk text {key!r} is defined twice ({info.name})")
            merged[key] = texts
    return merged
