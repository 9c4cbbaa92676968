"""The token's bytes and text: a compact payload, its signature, base32, the URL.

Layout of a version-1 token (all integers big-endian)::

    byte 0      version (high nibble, 1) and kind (low nibble: 0 p, 1 c, 2 r, 3 o)
    byte 1      key id (1..255): which of central's keys signed it
    byte 2      generation (0..255): bumped when a subject's codes are rotated
    bytes 3-4   not_before, days since 2020-01-01 (UTC), first valid day
    bytes 5-6   not_after, days since 2020-01-01 (UTC), last valid day
    fields      the subject id; then the campaign id (kind r) or the store id (kind o)
    64 bytes    Ed25519 signature over ``DOMAIN + payload``

Each id field is one header byte (form in the top two bits, a length in the low six)
and a body, in the shortest of four forms, so that a whole code URL stays inside QR
version 7 at error correction M (see docs/decisions.md, "QR tokens"):

* ``PHEX``: central's profile ids, ``p-`` and lowercase hex (body: the hex as bytes);
* ``DIGITS``: a decimal number without leading zeros (body: the number, n bytes);
* ``PACK6``: characters of ``[-.0-9A-Za-z]`` at six bits each;
* ``ASCII``: anything else the id patterns allow, a byte per character.

Decoding accepts only the canonical form of each field (the one encoding would choose,
unused bits zero), so one token has exactly one text.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from ..ids import IDENT_PATTERN

VERSION = 1
SIGNATURE_BYTES = 64
HEADER_BYTES = 7
#: what the signature covers besides the payload: a code can never be mistaken for
#: anything else central signs with the same key
DOMAIN = b"omnikiosk-qr-token-v1\x00"
#: day 0 of ``not_before`` / ``not_after``
EPOCH = date(2020, 1, 1)
MAX_DAY = 0xFFFF
#: the longest token text or URL looked at; anything longer is ``malformed`` unread
MAX_TEXT = 512
#: the longest payload decoded (an id field holds at most 63 bytes of body)
MAX_PAYLOAD = 3 * 64 + HEADER_BYTES
#: the latest ``not_after`` a code may have, in days from the day it is signed; central
#: keeps a revocation this long, so that it outlives every code it revokes
MAX_VALIDITY_DAYS = 3 * 366
#: alphanumeric characters QR version 7 holds at error correction M
QR_V7_M_ALNUM = 178


class Kind(StrEnum):
    PROFILE = "p"  #: a customer's check-in code (emails, the app, a printed card)
    CAMPAIGN = "c"  #: a generic campaign code (posters, flyers)
    RECIPIENT = "r"  #: one recipient of a campaign (direct mail, email)
    ORDER = "o"  #: an order pickup code, for one store


_KIND_CODES = {Kind.PROFILE: 0, Kind.CAMPAIGN: 1, Kind.RECIPIENT: 2, Kind.ORDER: 3}
_CODE_KINDS = {v: k for k, v in _KIND_CODES.items()}

_REF_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_IDENT_RE = re.compile(IDENT_PATTERN)
_PHEX_RE = re.compile(r"^p-(?:[0-9a-f]{2}){1,63}$")
_DIGITS_RE = re.compile(r"^(?:0|[1-9][0-9]{0,18})$")
_PACK6 = "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PACK6_INDEX = {c: i for i, c in enumerate(_PACK6)}
_PACK6_RE = re.compile(r"^[-.0-9A-Za-z]{1,63}$")
_ASCII_RE = re.compile(r"^[A-Za-z0-9._:-]{1,63}$|^[a-z0-9_-]{1,63}$")
_B32_RE = re.compile(r"^[A-Z2-7]+$")
_URL_RE = re.compile(
    r"^HTTPS://(?P<host>[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?(?:\.[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?)*)"
    r"(?::[0-9]{1,5})?/Q/(?P<token>[A-Z2-7]+)$"
)

PHEX, DIGITS, PACK6, ASCII = 0, 1, 2, 3


class Malformed(ValueError):
    """Not a token of ours: the verifier turns it into ``InvalidToken(malformed)``."""


class TooLong(ValueError):
    """A code that would not fit the QR size it must print at; says what to shorten."""


@dataclass(frozen=True, slots=True)
class Fields:
    """What a token says, before and after signing."""

    kind: Kind
    subject: str
    kid: int
    generation: int
    not_before: date
    not_after: date
    campaign_id: str | None = None
    store_id: str | None = None


def day_number(d: date) -> int:
    return (d - EPOCH).days


def day_of(n: int) -> date:
    return EPOCH + timedelta(days=n)


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


# --- id fields ----------------------------------------------------------------------


def _encode_id(value: str) -> bytes:
    if _PHEX_RE.match(value):
        body = bytes.fromhex(value[2:])
        return bytes([PHEX << 6 | len(body)]) + body
    if _DIGITS_RE.match(value) and int(value) < 2**63:
        n = int(value)
        body = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
        return bytes([DIGITS << 6 | len(body)]) + body
    if _PACK6_RE.match(value):
        bits = 0
        for c in value:
            bits = bits << 6 | _PACK6_INDEX[c]
        nbytes = (6 * len(value) + 7) // 8
        bits <<= nbytes * 8 - 6 * len(value)  # unused low bits are zero
        return bytes([PACK6 << 6 | len(value)]) + bits.to_bytes(nbytes, "big")
    if _ASCII_RE.match(value):
        return bytes([ASCII << 6 | len(value)]) + value.encode("ascii")
    raise ValueError(f"{value!r} cannot go into a code: ids are 1-63 of [A-Za-z0-9._:-]")


def _decode_id(buf: bytes, pos: int) -> tuple[str, int]:
    if pos >= len(buf):
        raise Malformed("an id field is missing")
    form, n = buf[pos] >> 6, buf[pos] & 0x3F
    pos += 1
    if n == 0:
        raise Malformed("an id field is empty")
    if form == PACK6:
        size = (6 * n + 7) // 8
    elif form == DIGITS and n > 8:
        raise Malformed("a number field is too long")
    else:
        size = n
    body = buf[pos : pos + size]
    if len(body) != size:
        raise Malformed("an id field is cut short")
    if form == PHEX:
        value = "p-" + body.hex()
    elif form == DIGITS:
        value = str(int.from_bytes(body, "big"))
    elif form == PACK6:
        bits = int.from_bytes(body, "big") >> (size * 8 - 6 * n)
        value = "".join(_PACK6[(bits >> (6 * (n - 1 - i))) & 0x3F] for i in range(n))
    else:
        try:
            value = body.decode("ascii")
        except UnicodeDecodeError:
            raise Malformed("an id field is not ASCII") from None
    try:
        canonical = _encode_id(value)
    except ValueError:
        raise Malformed("an id field holds characters no id has") from None
    if canonical != buf[pos - 1 : pos + size]:
        raise Malformed("an id field is not in its canonical form")
    return value, pos + size


def _check_ref(name: str, value: str) -> None:
    if not _REF_RE.match(value):
        raise ValueError(f"{name} {value!r} is not 1-64 of [A-Za-z0-9._:-]")


# --- payload ------------------------------------------------------------------------


def pack(f: Fields) -> bytes:
    """The payload bytes that get signed. Raises ``ValueError`` for what no code can say."""
    if not 1 <= f.kid <= 255:
        raise ValueError(f"key id {f.kid} is not 1..255")
    if not 0 <= f.generation <= 255:
        raise ValueError(f"generation {f.generation} is not 0..255")
    nb, na = day_number(f.not_before), day_number(f.not_after)
    if not (0 <= nb <= MAX_DAY and 0 <= na <= MAX_DAY):
        raise ValueError(f"validity {f.not_before}..{f.not_after} is outside {EPOCH}..2199")
    if na < nb:
        raise ValueError(f"not_after {f.not_after} is before not_before {f.not_before}")
    _check_ref("subject", f.subject)
    out = bytearray([VERSION << 4 | _KIND_CODES[f.kind], f.kid, f.generation])
    out += nb.to_bytes(2, "big") + na.to_bytes(2, "big")
    out += _encode_id(f.subject)
    if f.kind is Kind.RECIPIENT:
        if f.campaign_id is None:
            raise ValueError("a recipient code needs a campaign id")
        _check_ref("campaign id", f.campaign_id)
        out += _encode_id(f.campaign_id)
    elif f.campaign_id is not None:
        raise ValueError(f"a {f.kind.name.lower()} code carries no campaign id besides its subject")
    if f.kind is Kind.ORDER:
        if f.store_id is None or not _IDENT_RE.match(f.store_id):
            raise ValueError(f"a pickup code needs a valid store id, not {f.store_id!r}")
        out += _encode_id(f.store_id)
    elif f.store_id is not None:
        raise ValueError("only pickup codes are for one store")
    return bytes(out)


def unpack(payload: bytes) -> Fields:
    if len(payload) < HEADER_BYTES + 2 or len(payload) > MAX_PAYLOAD:
        raise Malformed(f"payload of {len(payload)} bytes")
    if payload[0] >> 4 != VERSION:
        raise Malformed(f"token version {payload[0] >> 4}")
    kind = _CODE_KINDS.get(payload[0] & 0x0F)
    if kind is None:
        raise Malformed(f"kind code {payload[0] & 0x0F}")
    kid, generation = payload[1], payload[2]
    if kid == 0:
        raise Malformed("key id 0")
    nb = int.from_bytes(payload[3:5], "big")
    na = int.from_bytes(payload[5:7], "big")
    if na < nb:
        raise Malformed("validity ends before it starts")
    subject, pos = _decode_id(payload, HEADER_BYTES)
    campaign_id = store_id = None
    if kind is Kind.RECIPIENT:
        campaign_id, pos = _decode_id(payload, pos)
    elif kind is Kind.ORDER:
        store_id, pos = _decode_id(payload, pos)
        if not _IDENT_RE.match(store_id):
            raise Malformed("the store id is not a store id")
    if pos != len(payload):
        raise Malformed("bytes after the last field")
    if not _REF_RE.match(subject) or (campaign_id is not None and not _REF_RE.match(campaign_id)):
        raise Malformed("an id is not a valid id")
    return Fields(kind, subject, kid, generation, day_of(nb), day_of(na), campaign_id, store_id)


# --- text and URL -------------------------------------------------------------------


def to_text(signed: bytes) -> str:
    """Upper-case RFC 4648 base32 without padding: all of it in QR's alphanumeric set."""
    return base64.b32encode(signed).decode("ascii").rstrip("=")


def from_text(token: str) -> bytes:
    """Base32 text (upper case, no padding, canonical) → bytes; ``Malformed`` otherwise."""
    if not _B32_RE.match(token) or len(token) % 8 in (1, 3, 6):
        raise Malformed("not base32")
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError):
        raise Malformed("not base32") from None
    if to_text(raw) != token:  # unused bits of the last character must be zero
        raise Malformed("not canonical base32")
    return raw


def token_part(text: str) -> str:
    """The token inside ``text``: a code URL or a bare token, in any letter case."""
    if len(text) > MAX_TEXT:
        raise Malformed(f"{len(text)} characters, more than any code")
    if not text.isascii():
        raise Malformed("not ASCII")
    up = text.strip().upper()
    if up.startswith("HTTPS://"):
        m = _URL_RE.match(up)
        if m is None:
            raise Malformed("not a code URL (https://HOST/q/TOKEN)")
        return m.group("token")
    return up


def code_url(public_host: str, token: str) -> str:
    """The URL printed in the QR code, upper-cased whole so QR stores it alphanumerically
    (scheme and host are case-insensitive; the token is upper-case base32)."""
    return f"HTTPS://{public_host.upper()}/Q/{token}"


def max_payload_for(public_host: str) -> int:
    """The longest payload whose code URL still fits QR version 7 at error correction M."""
    room = QR_V7_M_ALNUM - len(code_url(public_host, ""))
    return room * 5 // 8 - SIGNATURE_BYTES
