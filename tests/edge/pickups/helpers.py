"""What the pickup tests share: central's signing key, upserts, a staff list."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_sync.codes import CodeStore
from edge_sync.pickups import apply_upserts, ensure_staff_table
from edge_sync.protocol.ids import format_ts
from edge_sync.protocol.pins import hash_pin
from edge_sync.protocol.tokens import Keyring, PublicKey, Signer, Token, keys_message
from tests.edge.conftest import STORE

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TODAY = NOW.date()
_KEY = Ed25519PrivateKey.generate()
SIGNER = Signer(1, _KEY, "shop.example.com")
PUBLIC = PublicKey.of(1, _KEY.public_key().public_bytes_raw(), datetime(2025, 1, 1, tzinfo=UTC))

#: staff id -> (name, PIN); hashed at a low cost (verify_pin accepts 2**10 and up)
STAFF = {"anna": ("Anna Berg", "402917"), "ben": ("Ben Ode", "815263")}


def store_keys(db_path: Path) -> None:
    """What the daemon stores from the retained keys message."""
    codes = CodeStore(db_path)
    try:
        codes.apply(keys_message(Keyring([PUBLIC]), [], NOW))
    finally:
        codes.close()


def add_staff(db_path: Path) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        ensure_staff_table(conn)
        for sid, (name, pin) in STAFF.items():
            conn.execute(
                "INSERT OR REPLACE INTO staff VALUES (?, ?, ?)", (sid, name, hash_pin(pin, 10))
            )
    finally:
        conn.close()


def pickup_code(
    order_id: str,
    store_id: str = STORE,
    not_before: date | None = None,
    not_after: date | None = None,
) -> Token:
    nb = not_before or TODAY
    return SIGNER.sign(
        "o", order_id, store_id=store_id, not_before=nb,
        not_after=not_after or nb + timedelta(days=8),
    )  # fmt: skip


def upsert(order_id: str, revision: int = 1, state: str = "ready_for_pickup", **kw: Any) -> dict:
    doc = {
        "order_id": order_id, "revision": revision, "state": state, "items": 3,
        "lines": [{"sku": "SKU-1", "name": "Trail shoe", "quantity": 1},
                  {"sku": "SKU-2", "name": "Sock", "quantity": 2}],
        "placed_at": format_ts(NOW - timedelta(days=2)),
        "ready_at": format_ts(NOW - timedelta(days=1)),
        "collect_by": format_ts(NOW + timedelta(days=6)),
        "code_hash": None, "picked_up_at": None, "initials": "J.D.",
    }  # fmt: skip
    doc.update(kw)
    return doc


def ready_order(conn: sqlite3.Connection, order_id: str, **kw: Any) -> Token:
    """A ready order with its current pickup code, stored as the daemon would."""
    token = pickup_code(order_id)
    conn.execute("BEGIN IMMEDIATE")
    result = apply_upserts(conn, [upsert(order_id, code_hash=token.token_hash, **kw)], NOW)
    conn.execute("COMMIT")
    assert result.stored == 1, result
    return token
