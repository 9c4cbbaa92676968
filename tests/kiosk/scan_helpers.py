"""A kiosk's device database for the scan tests: a real edge.db with central's key, the
store's campaign list and fallback-code tables as the daemon would have stored them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_sync import EdgeClient, Outbox
from edge_sync.protocol.campaign_list import parse_campaign_list
from edge_sync.protocol.tokens import Keyring, PublicKey, Revocation, Signer, Token, keys_message
from edge_sync.protocol.tokens.code_table import parse_code_table
from edge_sync.protocol.tokens.fallback import fallback_of

STORE, DEVICE = "s042", "s042-k1"
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
TODAY = NOW.date()
NB, NA = date(2026, 1, 1), date(2026, 12, 31)


def keypair(kid: int) -> tuple[Signer, PublicKey]:
    k = Ed25519PrivateKey.generate()
    return Signer(kid, k, "shop.example.com"), PublicKey.of(
        kid, k.public_key().public_bytes_raw(), datetime(2025, 1, 1, tzinfo=UTC)
    )


SIGNER, PUBLIC = keypair(1)


def sign(kind: str, subject: str, **kw: Any) -> Token:
    kw.setdefault("not_before", NB)
    kw.setdefault("not_after", NA)
    return SIGNER.sign(kind, subject, **kw)


def campaign_entry(
    cid: str, starts: str = "2026-06-01", ends: str = "2026-06-30", **offer: Any
) -> dict[str, Any]:
    return {
        "id": cid, "name": f"Campaign {cid}", "channel": "direct_mail",
        "starts_on": starts, "ends_on": ends, "landing_url": "https://shop.example.com/x",
        "offer": {"text": {"en": f"{cid}: 20% off boots", "de": f"{cid}: 20 % auf Stiefel"},
                  "visual": {"kind": "asset", "name": "offers/boots.png"},
                  "valid_from": starts, "valid_until": ends, **offer},
    }  # fmt: skip


def list_doc(
    entries: Iterable[dict[str, Any]], version: int = 1, as_of: date = TODAY, store: str = STORE
) -> dict[str, Any]:
    return {"v": 1, "store_id": store, "version": version, "as_of": as_of.isoformat(),
            "campaigns": list(entries)}  # fmt: skip


def table_doc(campaign_id: str, tokens: Iterable[Token], issued_at: str) -> dict[str, Any]:
    codes = {fallback_of(t.text): t.text for t in tokens}
    return {"v": 1, "campaign_id": campaign_id, "issued_at": issued_at, "codes": codes}


class Device:
    """A kiosk's EdgeClient on a real edge.db, with helpers to put in what the daemon
    stores and to read the outbox back."""

    def __init__(self, path: Path, **outbox: Any) -> None:
        args: dict[str, Any] = {"store_id": STORE, "device_id": DEVICE, "max_rows": 100_000,
                                "max_bytes": 64 * 2**20, "clock_source": "assume_synced"}  # fmt: skip
        args.update(outbox)
        self.outbox = Outbox(path, **args)
        self.client = EdgeClient(self.outbox)

    def keys(self, revoked: Iterable[Revocation] = (), at: datetime = NOW) -> None:
        self.client.codes.apply(keys_message(Keyring([PUBLIC]), list(revoked), at))

    def campaigns(self, doc: dict[str, Any]) -> None:
        self.client.campaign_cache.apply_list(parse_campaign_list(json.dumps(doc).encode()))

    def table(self, doc: dict[str, Any]) -> None:
        table = parse_code_table(json.dumps(doc).encode())
        self.client.campaign_cache.apply_code_table(doc["campaign_id"], table)

    def events(self) -> list[dict[str, Any]]:
        rows = self.outbox.fetch(0, 1_000_000, 2**40)
        return [json.loads(r.payload) for r in rows]

    def close(self) -> None:
        self.client.close()
