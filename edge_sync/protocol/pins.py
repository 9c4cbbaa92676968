"""Staff PINs, stored as scrypt hashes: central hashes, the device verifies offline.

``scrypt$<log2 n>$<r>$<p>$<salt, base64>$<hash, base64>``. The cost (n = 2**14, r = 8:
16 MiB and about 40 ms a try on a store PC) makes a stolen staff list slow to guess,
and the device's rate limit stops guessing at the screen; a 4-digit PIN is still only
10,000 tries offline, so PINs are 6 digits or more (``check_pin``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

LOG2_N, R, P = 14, 8, 1
MIN_DIGITS, MAX_DIGITS = 6, 12
_MAXMEM = 64 * 1024 * 1024


class BadPin(ValueError):
    pass


def check_pin(pin: str) -> str:
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit():
        raise BadPin("a PIN is digits only")
    if not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        raise BadPin(f"a PIN has {MIN_DIGITS} to {MAX_DIGITS} digits")
    if len(set(pin)) == 1 or pin in "0123456789012" or pin in "9876543210987":
        raise BadPin("a PIN of one repeated digit or a run (123456) is too easy to guess")
    return pin


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_pin(pin: str, log2_n: int = LOG2_N) -> str:
    check_pin(pin)
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(pin.encode(), salt=salt, n=2**log2_n, r=R, p=P, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${log2_n}${R}${P}${_b64(salt)}${_b64(dk)}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` is the PIN ``stored`` was made from; False for anything else,
    a malformed hash included."""
    try:
        name, log2_n, r, p, salt, dk = stored.split("$")
        if name != "scrypt" or not 10 <= int(log2_n) <= 20 or not 1 <= int(r) <= 16:
            return False
        want = base64.b64decode(dk, validate=True)
        got = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt, validate=True), n=2 ** int(log2_n),
            r=int(r), p=int(p), maxmem=_MAXMEM, dklen=len(want),
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)
