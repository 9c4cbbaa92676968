"""Checking a code, the same way on a kiosk (offline) and at central (on every event).

``verify`` never raises anything but ``InvalidToken``, whatever it is given: a code
from a crumpled flyer, a photo of a screen, another shop's QR code, random bytes. Its
``reason`` is one of ``Reason``; ``message(lang)`` says it in plain words for the shopper.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .codec import (
    DOMAIN,
    MAX_TEXT,
    MAX_VALIDITY_DAYS,
    SIGNATURE_BYTES,
    Fields,
    Kind,
    Malformed,
    TooLong,
    code_url,
    day_start,
    from_text,
    max_payload_for,
    pack,
    to_text,
    token_part,
    unpack,
)
from .keyring import NO_REVOCATIONS, Keyring, RevocationList, scope_hash, scopes_of
from .reasons import MESSAGES, InvalidToken, Reason

__all__ = ["MESSAGES", "InvalidToken", "Reason", "Signer", "Token", "hash_of", "peek", "verify"]


@dataclass(frozen=True, slots=True)
class Token:
    """A code that verified: what it says, and its text."""

    fields: Fields
    #: the bare token (upper-case base32), as it goes into events
    text: str
    #: sha256 of the signed bytes, 32 hex digits: the code's identity in events and logs
    token_hash: str

    @property
    def kind(self) -> Kind:
        return self.fields.kind

    @property
    def subject(self) -> str:
        return self.fields.subject

    @property
    def campaign_id(self) -> str | None:
        if self.fields.kind is Kind.CAMPAIGN:
            return self.fields.subject
        return self.fields.campaign_id

    @property
    def profile_id(self) -> str | None:
        return self.fields.subject if self.fields.kind in (Kind.PROFILE, Kind.RECIPIENT) else None

    @property
    def store_id(self) -> str | None:
        return self.fields.store_id

    @property
    def kid(self) -> int:
        return self.fields.kid

    def scope_hashes(self) -> list[str]:
        return [scope_hash(s) for s in scopes_of(self.fields, self.token_hash)]


def hash_of(signed: bytes) -> str:
    return hashlib.sha256(signed).hexdigest()[:32]


#: ``used``: a collection of token hashes, or a function of one
Used = Collection[str] | Callable[[str], bool] | None


def verify(
    text: object,
    keyring: Keyring,
    *,
    now: datetime | None = None,
    revoked: RevocationList = NO_REVOCATIONS,
    store_id: str | None = None,
    kinds: Iterable[Kind | str] | None = None,
    used: Used = None,
) -> Token:
    """The code in ``text`` (a code URL or a bare token, any letter case; ``bytes`` too)
    if it may be accepted ``now``; else ``InvalidToken``.

    ``store_id``: the store checking it (pickup codes are for one store). ``kinds``: the
    kinds acceptable here. ``used``: codes already used (checked for pickup codes, which
    are one-time).
    """
    now = now or datetime.now(UTC)
    try:
        signed, fields = _parse(text)
    except Malformed as err:
        raise InvalidToken(Reason.MALFORMED, str(err)) from None
    key = keyring.get(fields.kid)
    if key is None:
        raise InvalidToken(Reason.UNKNOWN_KEY, f"key {fields.kid} is not known here")
    payload, signature = signed[:-SIGNATURE_BYTES], signed[-SIGNATURE_BYTES:]
    try:
        key.verifier.verify(signature, DOMAIN + payload)
    except InvalidSignature:
        raise InvalidToken(
            Reason.BAD_SIGNATURE, f"signature does not match key {key.kid}"
        ) from None
    if key.not_after is not None and now >= key.not_after:
        raise InvalidToken(Reason.EXPIRED, f"key {key.kid} was retired on {key.not_after}")
    if kinds is not None and fields.kind not in {Kind(k) for k in kinds}:
        raise InvalidToken(Reason.WRONG_KIND, f"a {fields.kind.value} code")
    if fields.kind is Kind.ORDER and store_id is not None and fields.store_id != store_id:
        raise InvalidToken(Reason.NOT_FOR_THIS_STORE, f"for store {fields.store_id}")
    if now < day_start(fields.not_before):
        raise InvalidToken(Reason.NOT_YET_VALID, f"valid from {fields.not_before}")
    if now >= day_start(fields.not_after) + timedelta(days=1):
        raise InvalidToken(Reason.EXPIRED, f"valid until {fields.not_after}")
    token = Token(fields, to_text(signed), hash_of(signed))
    if revoked.revokes(token.scope_hashes(), fields.generation):
        raise InvalidToken(Reason.REVOKED, f"generation {fields.generation} is revoked")
    if fields.kind is Kind.ORDER and used is not None:
        seen = used(token.token_hash) if callable(used) else token.token_hash in used
        if seen:
            raise InvalidToken(Reason.ALREADY_USED, "this pickup code was used before")
    return token


def _parse(text: object) -> tuple[bytes, Fields]:
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > MAX_TEXT:
            raise Malformed(f"{len(text)} bytes, more than any code")
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError:
            raise Malformed("not ASCII") from None
    if not isinstance(text, str):
        raise Malformed(f"a {type(text).__name__}, not text")
    signed = from_text(token_part(text))
    if len(signed) <= SIGNATURE_BYTES:
        raise Malformed("too short for a signed code")
    return signed, unpack(signed[:-SIGNATURE_BYTES])


def peek(text: object) -> Fields | None:
    """What a code claims, unverified (for logs and the fuzzer); None if unreadable."""
    try:
        return _parse(text)[1]
    except Malformed:
        return None


# --- signing (central, and the simulator with central's key) ---------------------------


class Signer:
    """Makes codes with one private key. ``public_host`` bounds their size: a code whose
    URL would not fit QR version 7 at error correction M is refused (``TooLong``)."""

    def __init__(self, kid: int, private: Ed25519PrivateKey, public_host: str) -> None:
        self.kid = kid
        self.private = private
        self.public_host = public_host
        self.max_payload = max_payload_for(public_host)

    def sign(
        self,
        kind: Kind | str,
        subject: str,
        *,
        not_before: date,
        not_after: date,
        generation: int = 0,
        campaign_id: str | None = None,
        store_id: str | None = None,
    ) -> Token:
        fields = Fields(
            Kind(kind), subject, self.kid, generation, not_before, not_after, campaign_id, store_id
        )
        latest = date.today() + timedelta(days=MAX_VALIDITY_DAYS)
        if not_after > latest:
            raise ValueError(
                f"not_after {not_after} is more than {MAX_VALIDITY_DAYS} days away; "
                "codes are issued for at most that long"
            )
        payload = pack(fields)
        if len(payload) > self.max_payload:
            raise TooLong(
                f"a {fields.kind.name.lower()} code for {subject!r}"
                + (f" in campaign {campaign_id!r}" if campaign_id else "")
                + (f" at store {store_id!r}" if store_id else "")
                + f" needs {len(payload)} bytes before its signature; with the host "
                f"{self.public_host!r} a code fits QR version 7 at level M with at most "
                f"{self.max_payload}: use shorter ids"
            )
        signed = payload + self.private.sign(DOMAIN + payload)
        return Token(fields, to_text(signed), hash_of(signed))

    def url(self, token: Token) -> str:
        return code_url(self.public_host, token.text)
