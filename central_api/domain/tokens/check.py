"""Central checks again every QR token an event carries, so that a device cannot link a
visit to a customer (or count a campaign scan) without that customer's code.

``visit.linked`` and ``campaign.scanned`` v2 carry the token; it must verify with
central's keys at the time the event says it happened (a kiosk may upload a day-old
scan), for the store the event comes from, and say exactly what the event claims. v1 of
those types carries no token: it is refused unless ``untokened_links`` is set (for
tools and tests replaying history made before tokens existed). Revocations are checked
inside the ingest transaction (``revocations.revoked_among``), where they are current.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge_sync.protocol import ValidEvent
from edge_sync.protocol.tokens import InvalidToken, Keyring, Kind, Token, verify

from .keystore import KeyStore, KeyStoreError

log = logging.getLogger(__name__)

#: event types whose data must come from a verified token
TOKEN_TYPES = ("visit.linked", "campaign.scanned")
_KINDS = {"visit.linked": (Kind.PROFILE, Kind.RECIPIENT), "campaign.scanned": (Kind.CAMPAIGN, Kind.RECIPIENT)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verified:
    """A token that passed everything but the revocation list."""

    scope_hashes: tuple[str, ...]
    generation: int


class BadToken(Exception):
    """The event's token does not hold up; the message says why (a dead letter's detail)."""


class TokenCheck:
    """``check(event)`` for ingest. ``keyring``: a fixed one or a function returning the
    current one (``KeyringFile``)."""

    def __init__(
        self, keyring: Keyring | Callable[[], Keyring], *, untokened_links: bool = False
    ) -> None:
        self._keyring = keyring
        self.untokened_links = untokened_links

    @classmethod
    def legacy(cls) -> TokenCheck:
        """No keys: untokened v1 links pass, every token fails as ``unknown_key``."""
        return cls(Keyring(), untokened_links=True)

    def keyring(self) -> Keyring:
        return self._keyring() if callable(self._keyring) else self._keyring

    def check(self, ve: ValidEvent) -> Verified | None:
        """None for an event that carries no token and needs none; ``BadToken`` if it
        fails."""
        e = ve.event
        if e.type not in TOKEN_TYPES:
            return None
        if e.v == 1:
            if self.untokened_links:
                return None
            raise BadToken(
                f"{e.type} v1 carries no QR token, so central cannot check it; "
                f"devices must send {e.type} v2"
            )
        data = ve.data
        try:
            token = verify(
                data["token"],
                self.keyring(),
                now=e.occurred_at,
                store_id=e.store_id,
                kinds=_KINDS[e.type],
            )
        except InvalidToken as err:
            raise BadToken(f"token does not verify: {err}") from None
        _claims_match(e.type, data, token)
        return Verified(tuple(token.scope_hashes()), token.fields.generation)


def _claims_match(type_: str, data: dict, token: Token) -> None:
    def differ(field: str, claimed: object, actual: object) -> None:
        if claimed != actual:
            raise BadToken(f"{field} {claimed!r} is not what the token says ({actual!r})")

    differ("token_hash", data.get("token_hash"), token.token_hash)
    if type_ == "visit.linked":
        differ("profile_id", data["profile_id"], token.profile_id)
        differ("token_kind", data["token_kind"], token.kind.value)
        differ("campaign_id", data.get("campaign_id"), token.fields.campaign_id)
    else:
        differ("campaign_id", data["campaign_id"], token.campaign_id)
        differ("recipient_id", data.get("recipient_id"), token.profile_id)


class KeyringFile:
    """The public keys of a ``KeyStore``, re-read when its directory changes (a rotation
    by ``central keys`` in another process), looked at most once a second."""

    def __init__(self, store: KeyStore, interval_s: float = 1.0) -> None:
        self._store = store
        self._interval = interval_s
        self._lock = threading.Lock()
        self._checked = 0.0
        self._stamp: int | None = None
        self._ring = Keyring()

    def __call__(self) -> Keyring:
        now = time.monotonic()
        if now - self._checked < self._interval:
            return self._ring
        with self._lock:
            if now - self._checked >= self._interval:
                stamp = _dir_stamp(self._store.dir)
                if stamp != self._stamp:
                    try:
                        self._ring = self._store.keyring()
                        self._stamp = stamp
                    except KeyStoreError as err:
                        # Keep checking with the keys read before; say what is wrong.
                        log.error("tokens: keeping the keys read before: %s", err)
                self._checked = now
        return self._ring


def _dir_stamp(path: os.PathLike[str]) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None
