"""Numbers, times and prices in the shopper's language, all through ``kiosk.i18n``."""

from __future__ import annotations

from datetime import datetime, tzinfo

from .. import i18n

_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def say(key: str, lang: str, **params: object) -> str:
    """``i18n.text(key, lang)`` with ``{name}`` fields filled in from ``params``."""
    template = i18n.text(key, lang)
    return template.format(**params) if params else template


def price_text(minor: int, currency: str, lang: str) -> str:
    """``€19.99`` in English, ``19,99 €`` in German; an unknown currency by its code."""
    whole, cents = divmod(abs(int(minor)), 100)
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(currency, currency)
    if lang == "de":
        return f"{sign}{whole:,}".replace(",", ".") + f",{cents:02d} {symbol}"
    gap = "" if currency in _SYMBOLS else " "
    return f"{sign}{symbol}{gap}{whole:,}.{cents:02d}"


def ago_text(seconds: float, lang: str) -> str:
    """``5 min ago`` / ``vor 5 Min.``, in the largest unit that fits."""
    s = max(0.0, seconds)
    if s < 60:
        return say("ago_now", lang)
    if s < 3600:
        return say("ago_min", lang, n=int(s // 60))
    if s < 86400:
        n = int(s // 3600)
        return say("ago_hour" if n == 1 else "ago_hours", lang, n=n)
    n = int(s // 86400)
    return say("ago_day" if n == 1 else "ago_days", lang, n=n)


def clock_text(ts: datetime, tz: tzinfo | None) -> str:
    """``14:05`` in the store's zone (the machine's zone when ``tz`` is None)."""
    return f"{ts.astimezone(tz):%H:%M}"


def when_text(ts: datetime, tz: tzinfo | None, lang: str, now: datetime | None = None) -> str:
    """``at 14:05`` on the same day as ``now``, else ``on 01.06.2026 at 14:05``."""
    local = ts.astimezone(tz)
    if now is not None and local.date() == now.astimezone(tz).date():
        return say("at_time", lang, time=f"{local:%H:%M}")
    day = f"{local:%d.%m.%Y}" if lang == "de" else f"{local:%d %b %Y}"
    return say("on_day_at_time", lang, day=day, time=f"{local:%H:%M}")


def distance_text(km: float, lang: str) -> str:
    """``850 m`` under a kilometre, else ``1.2 km`` (``1,2 km`` in German)."""
    if km < 1:
        return f"{max(0, round(km * 1000, -1)):.0f} m"
    text = f"{km:.1f} km" if km < 10 else f"{km:.0f} km"
    return text.replace(".", ",") if lang == "de" else text
