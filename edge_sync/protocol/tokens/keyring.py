"""Public keys and revocations: what a kiosk needs to check a code offline.

Central publishes both, retained, on ``omk/v1/down/all/keys`` (``KeysMessage``). A key
is valid from its ``not_before``; a retired key has a ``not_after``: codes it signed
verify until then and not after. The key that signs new codes is the newest one
without an end.

A revocation names a *scope* by hash and a generation: every code in that scope whose
generation is at most that number is revoked. A code's scopes are its subject (a
profile for ``p`` and ``r`` codes, a campaign for ``c``, an order for ``o``), the
campaign of an ``r`` code, and the code itself. So erasing a profile revokes all of its
codes with one entry (generation 255), rotating a campaign's codes revokes the older
generations, and one leaked code can be revoked alone. Scopes are hashed so that the
list pushed to every store does not name the profiles it revokes.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..timefmt import Rfc3339Time
from .codec import Fields, Kind

#: bounds of one keys message, checked before (size) and while (counts) it is parsed
MAX_KEYS_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_KEYS = 64
MAX_REVOCATIONS = 50_000
ALL_GENERATIONS = 255

ScopeHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
_B64_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def scope_hash(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:32]


def profile_scope(profile_id: str) -> str:
    return f"profile:{profile_id}"


def campaign_scope(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def order_scope(order_id: str) -> str:
    return f"order:{order_id}"


def token_scope(token_hash: str) -> str:
    return f"token:{token_hash}"


def scopes_of(f: Fields, token_hash: str) -> list[str]:
    """The scopes a code belongs to (see the module's docstring), unhashed."""
    if f.kind in (Kind.PROFILE, Kind.RECIPIENT):
        out = [profile_scope(f.subject)]
    elif f.kind is Kind.CAMPAIGN:
        out = [campaign_scope(f.subject)]
    else:
        out = [order_scope(f.subject)]
    if f.campaign_id is not None:
        out.append(campaign_scope(f.campaign_id))
    out.append(token_scope(token_hash))
    return out


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: int
    public: bytes  # 32 bytes, raw Ed25519
    not_before: datetime
    not_after: datetime | None = None
    _key: Ed25519PublicKey | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls, kid: int, public: bytes, not_before: datetime, not_after: datetime | None = None
    ) -> PublicKey:
        return cls(kid, public, not_before, not_after, Ed25519PublicKey.from_public_bytes(public))

    @property
    def verifier(self) -> Ed25519PublicKey:
        assert self._key is not None
        return self._key


class Keyring:
    """Public keys by key id. Immutable: a new set of keys is a new ``Keyring``."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[PublicKey] = ()) -> None:
        self._keys: dict[int, PublicKey] = {}
        for k in keys:
            if k.kid in self._keys:
                raise ValueError(f"key id {k.kid} appears twice")
            self._keys[k.kid] = k

    def get(self, kid: int) -> PublicKey | None:
        return self._keys.get(kid)

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(sorted(self._keys.values(), key=lambda k: k.kid))

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True, slots=True)
class Revocation:
    scope: str  # its hash (ScopeHash)
    generation: int
    #: no code in this scope is valid after this day anyway: the entry may then go
    until: date


class RevocationList(Protocol):
    """What ``verify`` asks a revocation list (``Revocations``, or one read from a
    database as needed)."""

    def revokes(self, scope_hashes: Iterable[str], generation: int) -> bool: ...


class Revocations:
    """Scope hash → highest revoked generation. ``in`` tells whether a code is revoked."""

    __slots__ = ("_by_scope",)

    def __init__(self, entries: Iterable[Revocation] | Mapping[str, int] = ()) -> None:
        if isinstance(entries, Mapping):
            self._by_scope = dict(entries)
        else:
            self._by_scope = {}
            for e in entries:
                self._by_scope[e.scope] = max(e.generation, self._by_scope.get(e.scope, -1))

    def revokes(self, scope_hashes: Iterable[str], generation: int) -> bool:
        if not self._by_scope:
            return False
        get = self._by_scope.get
        return any(get(h, -1) >= generation for h in scope_hashes)

    def __len__(self) -> int:
        return len(self._by_scope)


NO_REVOCATIONS = Revocations()


# --- the keys message ---------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyEntry(_Strict):
    kid: int = Field(ge=1, le=255)
    alg: Literal["ed25519"] = "ed25519"
    #: the raw 32-byte public key, base64url without padding
    public: str
    not_before: Rfc3339Time
    not_after: Rfc3339Time | None = None

    @field_validator("public")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _B64_KEY_RE.match(v):
            raise ValueError("not a 32-byte key in base64url")
        return v

    def to_key(self) -> PublicKey:
        raw = base64.urlsafe_b64decode(self.public + "=")
        return PublicKey.of(self.kid, raw, self.not_before, self.not_after)

    @classmethod
    def of(cls, k: PublicKey) -> KeyEntry:
        text = base64.urlsafe_b64encode(k.public).decode().rstrip("=")
        return cls(kid=k.kid, public=text, not_before=k.not_before, not_after=k.not_after)


class RevocationEntry(_Strict):
    s: ScopeHash
    g: int = Field(ge=0, le=ALL_GENERATIONS)
    until: date


class KeysMessage(_Strict):
    """The retained ``down/all/keys`` document."""

    v: Literal[1] = 1
    #: when central built it; a device keeps the newest it has seen
    issued_at: Rfc3339Time
    keys: list[KeyEntry] = Field(max_length=MAX_KEYS)
    revoked: list[RevocationEntry] = Field(default_factory=list, max_length=MAX_REVOCATIONS)

    def keyring(self) -> Keyring:
        return Keyring(k.to_key() for k in self.keys)

    def revocations(self) -> Revocations:
        return Revocations(Revocation(r.s, r.g, r.until) for r in self.revoked)


def keys_message(
    keyring: Keyring, revoked: Iterable[Revocation], issued_at: datetime | None = None
) -> KeysMessage:
    return KeysMessage(
        issued_at=issued_at or datetime.now(UTC),
        keys=[KeyEntry.of(k) for k in keyring],
        revoked=[RevocationEntry(s=r.scope, g=r.generation, until=r.until) for r in revoked],
    )


def parse_keys_message(payload: bytes) -> KeysMessage:
    """A keys message from the wire; ``ValueError`` (with why) for anything else."""
    from ..wirejson import Malformed, loads  # wirejson imports the envelope: import late

    if len(payload) > MAX_KEYS_MESSAGE_BYTES:
        raise ValueError(f"keys message of {len(payload)} bytes, limit {MAX_KEYS_MESSAGE_BYTES}")
    try:
        parsed = loads(payload, 4)
    except Malformed as err:
        raise ValueError(f"keys message is not JSON: {err}") from None
    if parsed.flaws:
        raise ValueError(f"keys message: {parsed.flaws[0].detail}")
    doc: Any = parsed.doc
    try:
        msg = KeysMessage.model_validate(doc)
        msg.keyring()  # duplicate key ids, points that are not keys
    except Exception as err:  # pydantic, ValueError from the key bytes
        raise ValueError(f"keys message: {str(err)[:300]}") from None
    return msg
