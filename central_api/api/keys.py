"""API keys for the HTTP API: ``omk_<key_id>_<secret>``, one role each, stored hashed.

The key id (16 hex digits) is the public half: listings show it and revoking names it.
The secret is ``secrets.token_urlsafe(32)``. Only the SHA-256 of the whole key is stored.

A ``device`` key is bound to one store (and, optionally, names the device that holds
it): it reads that store's data and nothing else (``auth.require_store``). A kiosk is a
machine in a shop, easier to steal than a server, so what its key opens stays small.

Why a plain SHA-256 and not bcrypt/argon2: those slow hashes exist to protect low-entropy
passwords from guessing. A key carries 256 random bits, so guessing it is hopeless at any
hash speed, and a slow hash would only add its cost to every authenticated request. A
stolen table still yields no usable key. (GitHub and Stripe tokens are stored the same way.)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast, get_args

from sqlalchemy import Connection, Engine, and_, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from central_api.store.db import write_transaction
from central_api.store.tables import api_keys
from edge_sync.protocol import utcnow
from edge_sync.protocol.ids import IDENT_PATTERN

log = logging.getLogger(__name__)

Role = Literal["admin", "marketer", "integration", "device"]
ROLES: tuple[Role, ...] = get_args(Role)
#: the role whose keys are bound to a store
DEVICE: Role = "device"
_IDENT_RE = re.compile(IDENT_PATTERN)

KEY_PREFIX = "omk"
KEY_ID_PATTERN = r"[0-9a-f]{16}"
_KEY_ID_RE = re.compile(f"^{KEY_ID_PATTERN}$")
# The secret is token_urlsafe's alphabet, which includes "_": split at the first two only.
_KEY_RE = re.compile(rf"^{KEY_PREFIX}_({KEY_ID_PATTERN})_([A-Za-z0-9_-]{{20,200}})$")
NAME_MAX_CHARS = 100
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

#: ``last_used_at`` is refreshed at most this often, so that using a key is not a write
#: per request (on SQLite every write takes the one database-wide write lock)
LAST_USED_RESOLUTION = timedelta(minutes=1)

_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


class ApiKeyError(Exception):
    """Base class of the key store's errors; the CLI and the HTTP API translate them."""


class KeyNotFound(ApiKeyError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key with id {key_id[:40]!r}")
        self.key_id = key_id


class KeyAlreadyRevoked(ApiKeyError):
    def __init__(self, key: ApiKey) -> None:
        super().__init__(f"API key {key.key_id} was already revoked at {key.revoked_at}")
        self.key = key


class InvalidKeySpec(ApiKeyError):
    """A role, a name or a store binding that cannot be stored."""


class KeyRejected(ApiKeyError):
    """A presented key that does not authenticate; ``reason`` is malformed|invalid|revoked."""

    def __init__(self, reason: Literal["malformed", "invalid", "revoked"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    role: Role
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    #: device keys only: the store whose data the key reads, and the device holding it
    store_id: str | None = None
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewKey:
    info: ApiKey
    #: the full key; exists only in this object and in the one response or output
    key: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_key(token: str) -> str | None:
    """The key id of a well-formed key, or None."""
    m = _KEY_RE.match(token)
    return m.group(1) if m else None


def is_key_id(value: str) -> bool:
    return _KEY_ID_RE.match(value) is not None


def check_name(name: str | None) -> str | None:
    """The name to store (stripped; None when empty). Raises InvalidKeySpec."""
    if name is None:
        return None
    name = name.strip()
    if len(name) > NAME_MAX_CHARS:
        raise InvalidKeySpec(f"name: at most {NAME_MAX_CHARS} characters")
    if _CONTROL_RE.search(name):
        raise InvalidKeySpec("name: control characters are not allowed")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
        raise InvalidKeySpec("name: not valid Unicode text") from None
    return name or None


def check_binding(
    role: str, store_id: str | None, device_id: str | None
) -> tuple[str | None, str | None]:
    """The store and device a key of ``role`` is bound to. A device key needs a store;
    other roles reach every store and take neither. Raises InvalidKeySpec."""
    if role != DEVICE:
        if store_id is not None or device_id is not None:
            raise InvalidKeySpec(
                f"store: only device keys are bound to a store; {role} keys reach every store"
            )
        return None, None
    if store_id is None:
        raise InvalidKeySpec("store: a device key needs the store it belongs to (--store ID)")
    for what, value in (("store", store_id), ("device", device_id)):
        if value is not None and not _IDENT_RE.match(value):
            raise InvalidKeySpec(
                f"{what}: {value[:70]!r} is not an id (lower-case letters, digits, - and _, "
                "at most 64, starting with a letter or digit)"
            )
    return store_id, device_id


def _row(r: Any) -> ApiKey:
    return ApiKey(
        key_id=r.key_id,
        role=r.role,
        name=r.name,
        created_at=r.created_at,
        last_used_at=r.last_used_at,
        revoked_at=r.revoked_at,
        store_id=r.store_id,
        device_id=r.device_id,
    )


def create_key(
    engine: Engine,
    role: str,
    name: str | None = None,
    now: datetime | None = None,
    *,
    store_id: str | None = None,
    device_id: str | None = None,
) -> NewKey:
    """A new key; a ``device`` key needs ``store_id`` (and may name its ``device_id``)."""
    if role not in ROLES:
        raise InvalidKeySpec(f"role: must be one of {', '.join(ROLES)}")
    name = check_name(name)
    store_id, device_id = check_binding(role, store_id, device_id)
    now = now or utcnow()
    for attempt in range(3):
        key_id = secrets.token_hex(8)
        key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        row = {
            "key_id": key_id,
            "secret_hash": hash_key(key),
            "role": role,
            "name": name,
            "created_at": now,
        }
        if role == DEVICE:
            row |= {"store_id": store_id, "device_id": device_id}
        try:
            with write_transaction(engine) as conn:
                conn.execute(api_keys.insert().values(row))
        except IntegrityError:  # a 64-bit key id collided: practically never
            if attempt == 2:
                raise
            continue
        info = ApiKey(key_id, cast(Role, role), name, now, None, None, store_id, device_id)
        return NewKey(info, key)
    raise AssertionError("unreachable")


def get_key(conn: Connection, key_id: str) -> ApiKey:
    if not is_key_id(key_id):
        raise KeyNotFound(key_id)  # could never have been issued
    r = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    if r is None:
        raise KeyNotFound(key_id)
    return _row(r)


def list_keys(
    conn: Connection, limit: int, after: tuple[datetime, str] | None = None
) -> list[ApiKey]:
    """Keys in creation order (ties by key id), starting after the ``after`` position."""
    q = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id).limit(limit)
    if after is not None:
        at, key_id = after
        q = q.where(
            or_(
                api_keys.c.created_at > at,
                and_(api_keys.c.created_at == at, api_keys.c.key_id > key_id),
            )
        )
    return [_row(r) for r in conn.execute(q)]


def revoke_key(engine: Engine, key_id: str, now: datetime | None = None) -> ApiKey:
    """Revoke a key; effective for the next request (keys are looked up on every request)."""
    now = now or utcnow()
    with write_transaction(engine) as conn:
        key = get_key(conn, key_id)
        if key.revoked_at is not None:
            raise KeyAlreadyRevoked(key)
        conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=now))
    return replace(key, revoked_at=now)


def verify_key(engine: Engine, token: str, now: datetime | None = None) -> ApiKey:
    """The active key ``token`` is, or KeyRejected. Refreshes ``last_used_at``."""
    key_id = parse_key(token)
    if key_id is None:
        raise KeyRejected("malformed")
    with engine.connect() as conn:
        r = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    # Compare digests in constant time, and compare something for unknown ids too, so
    # that response time tells nothing about how much of a guess was right.
    stored = r.secret_hash if r is not None else _DUMMY_HASH
    if not hmac.compare_digest(hash_key(token), stored) or r is None:
        raise KeyRejected("invalid")
    key = _row(r)
    if key.revoked_at is not None:
        raise KeyRejected("revoked")
    now = now or utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        _touch(engine, key_id, now)
    return key


def _touch(engine: Engine, key_id: str, now: datetime) -> None:
    # Conditional, so that concurrent requests in the same minute write once; and
    # best-effort: a busy or full database must not turn a good key into an error.
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.key_id == key_id,
                    or_(
                        api_keys.c.last_used_at.is_(None),
                        api_keys.c.last_used_at <= now - LAST_USED_RESOLUTION,
                    ),
                )
                .values(last_used_at=now)
            )
    except OperationalError as err:
        log.warning("api key %s: could not record its use: %s", key_id, err.orig or err)
