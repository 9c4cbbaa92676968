"""Central's signing keys: one file per key in ``[tokens] key_dir``, readable by central only.

A key file is JSON (``k001.json``) with the key id, when it was made, when it was retired
(``not_after``: codes it signed verify until then) and the private key (raw Ed25519,
base64). Files are written once with mode 0600 and replaced atomically when a key is
retired. Central refuses to use a directory in which any key file can be read by group
or others, and says which ``chmod`` fixes it.

The key that signs new codes is the newest key without an end date. ``rotate`` makes a
new one; the old one keeps verifying until ``retire`` gives it an end date.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_sync.protocol.ids import format_ts, parse_ts
from edge_sync.protocol.tokens import Keyring, PublicKey, Signer

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^k([0-9]{3})\.json$")
MAX_KID = 255


class KeyStoreError(Exception):
    """A key directory central cannot use as it is; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: int
    created_at: datetime
    not_after: datetime | None
    private: Ed25519PrivateKey
    path: Path

    @property
    def public(self) -> PublicKey:
        raw = self.private.public_key().public_bytes_raw()
        return PublicKey.of(self.kid, raw, self.created_at, self.not_after)

    def state(self, now: datetime) -> str:
        if self.not_after is None:
            return "active"
        return "retired" if now < self.not_after else "expired"


def _file_name(kid: int) -> str:
    return f"k{kid:03d}.json"


def _write_private(path: Path, doc: dict[str, Any], *, new: bool = False) -> None:
    """Write ``doc`` to ``path`` atomically, the file 0600 from its first byte. ``new``:
    fail with ``FileExistsError`` if ``path`` exists (two centrals starting at once)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        if new:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class KeyStore:
    def __init__(self, key_dir: str | Path, public_host: str) -> None:
        self.dir = Path(key_dir)
        self.public_host = public_host

    # -- reading -----------------------------------------------------------------------

    def all_keys(self) -> list[StoredKey]:
        """Every key in the directory, oldest first. Refuses exposed or unreadable files."""
        if not self.dir.is_dir():
            return []
        out = []
        for path in sorted(self.dir.iterdir()):
            m = _NAME_RE.match(path.name)
            if m is None:
                continue
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyStoreError(
                    f"signing key {path} can be read by other users (mode "
                    f"{stat.filemode(mode)}); central will not use it. Fix: chmod 600 {path}"
                    " (and consider the key exposed: rotate it)"
                )
            out.append(self._read(path, int(m.group(1))))
        return sorted(out, key=lambda k: k.kid)

    def _read(self, path: Path, kid: int) -> StoredKey:
        try:
            doc = json.loads(path.read_text())
            if doc["kid"] != kid:
                raise ValueError(f"file says key id {doc['kid']}")
            raw = base64.b64decode(doc["private"], validate=True)
            return StoredKey(
                kid=kid,
                created_at=parse_ts(doc["created_at"]),
                not_after=parse_ts(doc["not_after"]) if doc.get("not_after") else None,
                private=Ed25519PrivateKey.from_private_bytes(raw),
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise KeyStoreError(f"signing key {path} cannot be read: {err}") from None

    def signing_key(self) -> StoredKey | None:
        active = [k for k in self.all_keys() if k.not_after is None]
        return active[-1] if active else None

    def keyring(self) -> Keyring:
        return Keyring(k.public for k in self.all_keys())

    def signer(self) -> Signer:
        key = self.signing_key()
        if key is None:
            raise KeyStoreError(
                f"no signing key in {self.dir}: start central once, or run "
                "`omnikiosk central keys rotate`"
            )
        return Signer(key.kid, key.private, self.public_host)

    # -- changing ------------------------------------------------------------------------

    def _new_key(self, now: datetime, existing: list[StoredKey] | None = None) -> StoredKey:
        if existing is None:
            existing = self.all_keys()
        kid = max((k.kid for k in existing), default=0) + 1
        if kid > MAX_KID:
            raise KeyStoreError(
                f"{self.dir} already holds key ids up to {MAX_KID}, the most a code can name"
            )
        private = Ed25519PrivateKey.generate()
        path = self.dir / _file_name(kid)
        doc = {
            "kid": kid,
            "created_at": format_ts(now),
            "not_after": None,
            "private": base64.b64encode(private.private_bytes_raw()).decode(),
        }
        _write_private(path, doc, new=True)
        return StoredKey(kid, parse_ts(doc["created_at"]), None, private, path)

    def _prepare_dir(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def ensure(self, now: datetime | None = None) -> StoredKey:
        """The signing key, made (and logged, with a reminder to back it up) if none exists."""
        self._prepare_dir()
        existing = self.all_keys()
        active = [k for k in existing if k.not_after is None]
        if active:
            return active[-1]
        try:
            # the id comes from the same listing that found no signing key: a central
            # that made one since then holds that id, and this one yields to it
            key = self._new_key(now or datetime.now(UTC), existing)
        except FileExistsError:  # another central made it a moment ago
            made = self.signing_key()
            if made is None:
                raise
            return made
        log.warning(
            "tokens: made signing key %d (%s). Back it up now, somewhere only you can "
            "read: it is the only copy, and if it is lost every code signed with it must "
            "be issued again.",
            key.kid,
            key.path,
        )
        return key

    def rotate(self, now: datetime | None = None) -> StoredKey:
        """A new signing key from now on; the old ones keep verifying until retired."""
        self._prepare_dir()
        self.all_keys()  # refuse exposed files before adding one
        return self._new_key(now or datetime.now(UTC))

    def retire(self, kid: int, until: datetime | None = None) -> StoredKey:
        """Give key ``kid`` an end date (default: now): its codes verify until then."""
        keys = {k.kid: k for k in self.all_keys()}
        if kid not in keys:
            raise KeyStoreError(f"no key {kid} in {self.dir}")
        key = keys[kid]
        active = [k for k in keys.values() if k.not_after is None]
        if key.not_after is None and active[-1].kid == kid:
            raise KeyStoreError(
                f"key {kid} signs new codes; run `omnikiosk central keys rotate` first, "
                "then retire it"
            )
        end = until or datetime.now(UTC)
        doc = json.loads(key.path.read_text())
        doc["not_after"] = format_ts(end)
        _write_private(key.path, doc)
        return self._read(key.path, kid)
