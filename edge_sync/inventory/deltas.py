"""Applying one delta to the live cache tables, in one transaction.

The caller has checked the delta's shape and checksum (``store_data.parse_delta``); here
it applies only if the stored version is its ``from_version`` (read under the write
lock, so two appliers cannot both apply it). A product change updates the FTS index
with the old and new values (external-content FTS5 needs the old ones to delete) and
adds the new values' words to the vocabulary; words a change leaves unused stay there
until the next snapshot, which at worst offers a typo candidate that finds nothing.
Hooks run in the same transaction (the sync daemon's stores the orders due that a delta
carries, ``pickups.replace_from_delta``), so the version and what came with it move
together.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from ..protocol.ids import format_ts, utcnow
from ..protocol.store_data import STORE_FIELDS, Delta
from . import tables
from .load import Write, store_json
from .text import words

_COLS = ", ".join(tables.FTS_COLUMNS)
_FTS_DELETE = (
    f"INSERT INTO products_fts (products_fts, rowid, {_COLS}) VALUES ('delete', ?, ?, ?, ?, ?, ?)"
)
_FTS_INSERT = f"INSERT INTO products_fts (rowid, {_COLS}) VALUES (?, ?, ?, ?, ?, ?)"


class StaleDelta(Exception):
    """The stored version is not the delta's ``from_version`` (any more)."""


def _product(conn: sqlite3.Connection, p: list[Any]) -> None:
    sku, barcode, name, brand, category = p[0], p[1], p[2], p[3], p[4]
    old = conn.execute(f"SELECT id, {_COLS} FROM products WHERE sku = ?", (sku,)).fetchone()
    if old is not None:
        pid = old[0]
        conn.execute(_FTS_DELETE, old)
        conn.execute(
            "UPDATE products SET barcode = ?, name = ?, brand = ?, category = ?, "
            "price_minor = ?, currency = ?, image = ? WHERE id = ?",
            (*p[1:], pid),
        )
    else:
        pid = conn.execute(
            "INSERT INTO products (sku, barcode, name, brand, category, price_minor, currency, "
            "image) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            p,
        ).lastrowid
    conn.execute(_FTS_INSERT, (pid, name, brand, category, sku, barcode))
    new_words = {
        w
        for field in (name, brand, category, sku, barcode)
        for w in words(field)
        if not any(ch.isdigit() for ch in w)  # as at load: codes are not typo candidates
    }
    conn.executemany(
        "INSERT OR IGNORE INTO product_words (word) VALUES (?)", [(w,) for w in new_words]
    )


def _nearby_store(s: dict[str, Any]) -> tuple[Any, ...]:
    return (s["id"], s["name"], s["address"], s["latitude"], s["longitude"], s["timezone"],
            int(s["show_exact_stock"]), s["stock_as_of"], s["distance_km"])  # fmt: skip


def _apply_one(conn: sqlite3.Connection, c: list[Any], store: list[str | None]) -> None:
    op, rest = c[0], c[1:]
    if op == "p":
        _product(conn, rest)
    elif op == "s":
        conn.execute("INSERT OR REPLACE INTO stock_here VALUES (?, ?, ?)", rest)
    elif op == "s-":
        conn.execute("DELETE FROM stock_here WHERE sku = ?", rest)
    elif op == "n":
        conn.execute(
            "INSERT OR REPLACE INTO nearby_stock VALUES (?, ?, ?, ?)",
            (rest[1], rest[0], rest[2], rest[3]),
        )
    elif op == "n-":
        conn.execute("DELETE FROM nearby_stock WHERE store_id = ? AND sku = ?", rest)
    elif op == "ns":
        conn.execute(
            "INSERT OR REPLACE INTO nearby_stores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _nearby_store(rest[0]),
        )
    elif op == "ns-":
        conn.execute("DELETE FROM nearby_stores WHERE store_id = ?", rest)
        conn.execute("DELETE FROM nearby_stock WHERE store_id = ?", rest)
    elif op == "store":
        store[0] = store_json(rest[0])
    elif op == "staff":
        s = rest[0]
        conn.execute(
            "INSERT OR REPLACE INTO staff VALUES (?, ?, ?)",
            (s["staff_id"], s["name"], s["pin_hash"]),
        )
    elif op == "staff-":
        conn.execute("DELETE FROM staff WHERE staff_id = ?", rest)
    else:  # parse_delta refuses unknown ops; this is a programming error
        raise ValueError(f"unknown op {op!r}")


#: called inside a delta's transaction, after its changes (the pickups logic stores
#: ``delta.pickups`` there)
DeltaHook = Callable[[sqlite3.Connection, Delta], None]


def apply_delta(conn: sqlite3.Connection, delta: Delta, hooks: Iterable[DeltaHook] = ()) -> None:
    """Apply ``delta`` and run ``hooks`` in one transaction, or raise ``StaleDelta`` and
    change nothing (a hook that fails also changes nothing)."""
    with Write(conn):
        row = conn.execute(f"SELECT version, store FROM {tables.STATE} WHERE id = 1").fetchone()
        if row[0] != delta.from_version:
            raise StaleDelta(f"stored version is {row[0]}, the delta is from {delta.from_version}")
        store: list[str | None] = [row[1]]
        for c in delta.changes:
            _apply_one(conn, c, store)
        for hook in hooks:
            hook(conn, delta)
        conn.execute(
            f"UPDATE {tables.STATE} SET version = ?, delta_at = ?, store = ? WHERE id = 1",
            (delta.to_version, format_ts(utcnow()), store[0]),
        )


def stored_store(conn: sqlite3.Connection) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT store FROM {tables.STATE} WHERE id = 1").fetchone()
    if row is None or row[0] is None:
        return None
    store = json.loads(row[0])
    return {f: store.get(f) for f in STORE_FIELDS}
