"""The short fallback code printed under a QR code, for staff to type when it is damaged.

Twelve characters of Crockford base32: eleven carry 55 bits of a hash of the signed
token, the twelfth is Crockford's mod-37 check symbol (``0-9A-Z`` without I, L, O, U,
then ``*~$=U``), so one mistyped character or two swapped neighbours are caught before
anything is looked up. Printed in groups of four (``7KQ2-M9XD-4TR*``); reading accepts
any letter case, spaces and hyphens, and Crockford's look-alikes (``I``/``L`` as ``1``,
``O`` as ``0``).

The code is derived from the token, so it needs no numbering of its own: the same token
always has the same fallback, and rotating a campaign's codes changes both. It proves
nothing by itself (55 bits, no signature): a kiosk resolves it to the token it stands
for through the table (canonical code → token) central pushes to the campaign's
stores, and then checks that token exactly as if it had been scanned. See docs/decisions.md,
"Fallback codes".
"""

from __future__ import annotations

import hashlib

from .codec import from_text

#: Crockford's base32 alphabet (no I, L, O, U)
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: the check symbols: the alphabet, then the five extra symbols for values 32..36
CHECK_SYMBOLS = ALPHABET + "*~$=U"
DATA_CHARS = 11
LENGTH = DATA_CHARS + 1
_DOMAIN = b"omnikiosk-fallback-v1\x00"
_READ = {c: i for i, c in enumerate(ALPHABET)} | {"I": 1, "L": 1, "O": 0}
_CHECK_READ = {c: i for i, c in enumerate(CHECK_SYMBOLS)} | {"I": 1, "L": 1, "O": 0}
_IGNORED = " -\t"


class BadFallback(ValueError):
    """Typed text that is not a fallback code; the message says what to check."""


def _check(value: int) -> str:
    return CHECK_SYMBOLS[value % 37]


def fallback_of(token: str) -> str:
    """The canonical fallback code (12 characters, no hyphens) of a bare token text."""
    signed = from_text(token)
    digest = hashlib.sha256(_DOMAIN + signed).digest()
    value = int.from_bytes(digest[:7], "big") >> 1  # 55 bits
    chars = []
    for shift in range(5 * (DATA_CHARS - 1), -1, -5):
        chars.append(ALPHABET[(value >> shift) & 31])
    return "".join(chars) + _check(value)


def display(code: str) -> str:
    """``7KQ2M9XD4TR*`` → ``7KQ2-M9XD-4TR*``, as printed on labels."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def parse(typed: object) -> str:
    """What staff typed → the canonical code; ``BadFallback`` saying what is wrong."""
    if not isinstance(typed, str):
        raise BadFallback("not text")
    text = "".join(c for c in typed.upper() if c not in _IGNORED)
    if len(text) != LENGTH:
        raise BadFallback(
            f"a fallback code has {LENGTH} characters; this has {len(text)}"
            if len(text) < 64
            else "far too long for a fallback code"
        )
    value = 0
    for pos, c in enumerate(text[:DATA_CHARS], start=1):
        if c not in _READ:
            raise BadFallback(f"character {pos} ({c!r}) is not used in these codes")
        value = value * 32 + _READ[c]
    check = text[DATA_CHARS]
    if check not in _CHECK_READ:
        raise BadFallback(f"the last character ({check!r}) is not used in these codes")
    if _CHECK_READ[check] != value % 37:
        raise BadFallback("the code does not add up: check each character again")
    return "".join(ALPHABET[_READ[c]] for c in text[:DATA_CHARS]) + _check(value)
