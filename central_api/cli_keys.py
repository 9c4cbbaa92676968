"""``omnikiosk central keys list|rotate|retire``: central's QR signing keys."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from edge_sync.protocol.ids import format_ts, parse_ts

from .config import CentralConfig
from .domain.tokens.keystore import KeyStore


def _store(cfg: CentralConfig) -> KeyStore:
    return KeyStore(cfg.tokens.key_dir, cfg.tokens.public_host)


def keys_list(cfg: CentralConfig) -> int:
    store = _store(cfg)
    keys = store.all_keys()
    if not keys:
        print(f"no keys in {store.dir} (central makes one when it starts)")
        return 0
    now = datetime.now(UTC)
    signing = store.signing_key()
    print(f"{'kid':>3}  {'state':<8} {'created':<24} {'verifies until':<24} file")
    for k in keys:
        state = "signing" if signing is not None and k.kid == signing.kid else k.state(now)
        until = format_ts(k.not_after) if k.not_after else "-"
        print(f"{k.kid:>3}  {state:<8} {format_ts(k.created_at):<24} {until:<24} {k.path}")
    return 0


def keys_rotate(cfg: CentralConfig) -> int:
    store = _store(cfg)
    old = store.signing_key()
    new = store.rotate()
    print(f"key {new.kid} signs new codes from now on ({new.path}); back it up now")
    if old is not None:
        print(
            f"key {old.kid} still verifies the codes it signed; give it an end date with "
            f"`omnikiosk central keys retire {old.kid} [--until TIME]`",
            file=sys.stderr,
        )
    return 0


def keys_retire(cfg: CentralConfig, kid: int, until: str | None) -> int:
    try:
        end = parse_ts(until) if until else None
    except ValueError:
        print(f"error: --until {until!r} is not an RFC 3339 time", file=sys.stderr)
        return 2
    key = _store(cfg).retire(kid, end)
    assert key.not_after is not None
    print(f"key {kid}: codes it signed verify until {format_ts(key.not_after)}, not after")
    return 0
