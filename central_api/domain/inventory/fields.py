"""The checks of one value each: SKU, barcode, price, image, category, store fields.

Each ``parse_…`` takes the text of a cell and returns the value stored, or raises
``ValueError`` with a reason a person can act on (the importers put the line and the
column in front of it).
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from functools import cache

from edge_sync.protocol.ids import IDENT_PATTERN

from ..campaigns.model import ASSET_PATTERN, check_url

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
_SKU_RE = re.compile(SKU_PATTERN)
_IDENT_RE = re.compile(IDENT_PATTERN)
_ASSET_RE = re.compile(ASSET_PATTERN)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS_RE = re.compile(r"^[0-9]+$")
_EXPONENT_RE = re.compile(r"^[0-9.,]+[eE][+-]?[0-9]+$")
_DECIMAL_RE = re.compile(r"^[0-9]{1,15}(\.[0-9]+)?$")
_INT_RE = re.compile(r"^[0-9]{1,10}$")

#: ISO 4217 codes and their minor-unit digits (the currencies a European or North
#: American retailer prices in; more can be added here)
CURRENCIES = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2,
    "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "ISK": 0, "CAD": 2, "AUD": 2, "NZD": 2,
    "JPY": 0, "MXN": 2, "TRY": 2,
}  # fmt: skip
QUANTITY_MAX = 1_000_000_000
BARCODE_KINDS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}
_TRUE, _FALSE = ("true", "yes", "1", "y"), ("false", "no", "0", "n", "")


def parse_sku(text: str) -> str:
    v = text.strip()
    if not _SKU_RE.match(v):
        raise ValueError(
            f"{_shown(v)} is not a SKU: 1 to 32 of A-Z a-z 0-9 . _ -, starting with a "
            "letter or digit"
        )
    return v


def parse_store_id(text: str) -> str:
    v = text.strip()
    if not _IDENT_RE.match(v):
        raise ValueError(
            f"{_shown(v)} is not a store id: 1 to 64 of a-z 0-9 _ -, lower case, starting "
            "with a letter or digit"
        )
    return v


def check_digit(body: str) -> int:
    """The GS1 check digit of ``body`` (the code without its last digit): weights 3 and 1
    alternating from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def parse_barcode(text: str) -> str:
    """An EAN-8, UPC-A or EAN-13 with a correct check digit. A UPC-A is stored as the
    EAN-13 scanners read for it (a leading 0), so both spellings are one product."""
    v = text.strip()
    if _EXPONENT_RE.match(v):
        raise ValueError(
            f"{v} is a number in exponent form (a spreadsheet reformatted the barcode); "
            "format the column as text and export again"
        )
    if not _DIGITS_RE.match(v):
        raise ValueError(f"{_shown(v)} is not a barcode: digits only (EAN-8, UPC-A or EAN-13)")
    kind = BARCODE_KINDS.get(len(v))
    if kind is None:
        hint = " (did a spreadsheet drop a leading 0?)" if len(v) in (7, 11) else ""
        raise ValueError(f"{v} has {len(v)} digits: EAN-8 has 8, UPC-A 12, EAN-13 13{hint}")
    want = check_digit(v[:-1])
    if int(v[-1]) != want:
        raise ValueError(f"{v}: check digit {v[-1]} is wrong for an {kind}; expected {want}")
    return "0" + v if len(v) == 12 else v


def parse_currency(text: str) -> str:
    v = text.strip().upper()
    if v not in CURRENCIES:
        raise ValueError(f"{_shown(v)} is not a currency this central prices in (ISO 4217: "
                         f"{', '.join(sorted(CURRENCIES))})")  # fmt: skip
    return v


def parse_price(text: str, currency: str, decimal_comma: bool = False) -> int:
    """The price in minor units (``12.99`` EUR → 1299): exact, never a float. With
    ``decimal_comma`` (a ``;``-separated export) ``12,99`` is read as 12.99."""
    v = text.strip()
    if decimal_comma and "," in v and "." not in v:
        v = v.replace(",", ".", 1)
    if not _DECIMAL_RE.match(v):
        if "," in v:
            raise ValueError(
                f"{_shown(v)} is not a price: write a decimal point and no thousands "
                "separators, such as 1299.50"
            )
        raise ValueError(f"{_shown(v)} is not a price: a number at least 0, such as 12.99")
    digits = CURRENCIES[currency]
    frac = v.partition(".")[2]
    if len(frac.rstrip("0")) > digits:
        raise ValueError(f"{v} has more decimals than {currency}'s {digits}")
    try:
        return int(Decimal(v).scaleb(digits))
    except InvalidOperation:  # (the pattern admits only numbers)
        raise ValueError(f"{_shown(v)} is not a price") from None


def parse_image(text: str) -> str:
    """An http(s) URL, a path under the kiosk's assets (``products/spade.png``), or empty."""
    v = text.strip()
    if not v:
        return ""
    if "://" in v:
        return check_url(v)
    if len(v) <= 200 and _ASSET_RE.match(v):
        return v
    raise ValueError(
        f"{_shown(v)} is neither an http(s) URL nor an asset path (relative, such as "
        "products/spade.png: letters, digits, _ - . and /, no ..)"
    )


def parse_category(text: str) -> str:
    """A path of 1 to 6 names, written with ``/`` or ``>`` between them; stored with ``/``."""
    v = text.strip()
    parts = [p.strip() for p in re.split(r"[/>]", v)]
    if not v or any(not p for p in parts):
        raise ValueError(
            f"{_shown(v)} is not a category path: names with / between them, such as "
            "Garden/Tools, none empty"
        )
    if len(parts) > 6 or any(len(p) > 60 or _CONTROL_RE.search(p) for p in parts):
        raise ValueError(
            "a category path has at most 6 names of at most 60 characters each, without "
            "control characters"
        )
    return "/".join(parts)


def parse_text(text: str, limit: int) -> str:
    """One line of text, not blank, at most ``limit`` characters."""
    v = text.strip()
    if not v:
        raise ValueError("must not be empty")
    if len(v) > limit:
        raise ValueError(f"is {len(v)} characters long; at most {limit}")
    if _CONTROL_RE.search(v):
        raise ValueError("must be one line without control characters")
    return v


def parse_count(text: str) -> int:
    """A whole number from 0 to 1,000,000,000 (quantities and thresholds)."""
    v = text.strip()
    if v.isdigit() and v.isascii() and len(v) <= 10 and int(v) <= QUANTITY_MAX:
        return int(v)  # (the common case, without a regular expression)
    if not _INT_RE.match(v) or int(v) > QUANTITY_MAX:
        if v.startswith("-"):
            raise ValueError(f"{_shown(v)} is negative; it must be 0 or more")
        raise ValueError(f"{_shown(v)} is not a whole number from 0 to {QUANTITY_MAX:,}")
    return int(v)


def parse_coordinate(text: str, low: float, high: float, decimal_comma: bool = False) -> float:
    v = text.strip()
    if decimal_comma and "," in v and "." not in v:
        v = v.replace(",", ".", 1)
    if not re.fullmatch(r"[+-]?[0-9]{1,3}(\.[0-9]{1,12})?", v):
        raise ValueError(f"{_shown(v)} is not a coordinate in decimal degrees, such as 48.1372")
    value = float(v)
    if not low <= value <= high:
        raise ValueError(f"{v} is outside {low:g} to {high:g}")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_timezone(text: str) -> str:
    v = text.strip()
    if v not in _zones():
        raise ValueError(f"{_shown(v)} is not an IANA time zone, such as Europe/Berlin")
    return v


def parse_flag(text: str) -> bool:
    v = text.strip().lower()
    if v in _TRUE or v in _FALSE:
        return v in _TRUE
    raise ValueError(f"{_shown(v)} is not true or false (yes/no, 1/0; empty is false)")


def _shown(v: str) -> str:
    """A bad value, quoted and cut short, as the message shows it."""
    return repr(v if len(v) <= 40 else v[:37] + "...")
