"""Loading a snapshot into a new set of cache tables and swapping it in.

The load writes the ``_new`` set in chunks, each its own short transaction: the tables
are invisible to readers until the swap, and a kiosk enqueueing an event (the same
file's write lock) waits for one chunk at most, not for the whole catalog. The swap
then renames the sets, writes the state row and runs the hooks (the pickups logic
stores ``snapshot.pickups`` there) in one transaction: a reader sees all of the old
data or all of the new, and a hook that fails leaves the old set live.

Rows go in with raw ``sqlite3.executemany`` (see docs/decisions.md, "Store data at the
edge"): sqlite-utils' ``insert_all`` builds each chunk's SQL from dicts, which for a
100,000-product catalog costs more than the insert itself.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..protocol.ids import format_ts, utcnow
from ..protocol.store_data import STORE_FIELDS, BadStoreData, Snapshot
from . import tables

log = logging.getLogger(__name__)

#: called inside the swap transaction with the snapshot being swapped in
Hook = Callable[[sqlite3.Connection, Snapshot], None]

#: rows per staging transaction
CHUNK = 20_000

_NEARBY_STORE_COLUMNS = ("store_id", "name", "address", "latitude", "longitude", "timezone",
                         "show_exact_stock", "stock_as_of", "distance_km")  # fmt: skip


class Write:
    """``with Write(conn):`` — one ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _insert(conn: sqlite3.Connection, table: str, width: int, rows: Sequence[Any]) -> None:
    sql = f"INSERT INTO {table} VALUES ({', '.join('?' * width)})"
    for start in range(0, len(rows), CHUNK):
        with Write(conn):
            conn.executemany(sql, rows[start : start + CHUNK])


def store_json(store: dict[str, Any]) -> str:
    return json.dumps({f: store[f] for f in STORE_FIELDS}, sort_keys=True)


def _stage(conn: sqlite3.Connection, snap: Snapshot, generation: int) -> None:
    with Write(conn):
        tables.drop_set(conn, "_new")
        tables.drop_set(conn, "_old")
        tables.create_set(conn, "_new", generation)
    products = [(i, *p) for i, p in enumerate(snap.products, 1)]
    _insert(conn, "products_new", 9, products)
    with Write(conn):
        tables.index_set(conn, "_new", generation)
    n = len(products)
    cols = ", ".join(tables.FTS_COLUMNS)
    for start in range(1, n + 1, CHUNK):
        with Write(conn):
            conn.execute(
                f"INSERT INTO products_fts_new (rowid, {cols}) SELECT id, {cols} "
                "FROM products_new WHERE id >= ? AND id < ?",
                (start, start + CHUNK),
            )
    with Write(conn):
        # the vocabulary for typo tolerance: every word in the index, read from it
        conn.execute("DROP TABLE IF EXISTS temp.inventory_vocab")
        conn.execute(
            "CREATE VIRTUAL TABLE temp.inventory_vocab USING fts5vocab(main, products_fts_new, row)"
        )
        conn.execute("INSERT INTO product_words_new (word) SELECT term FROM temp.inventory_vocab")
        conn.execute("DROP TABLE temp.inventory_vocab")
    # in key order: appending to a B-tree is far cheaper than inserting all over it
    _insert(conn, "stock_here_new", 3, sorted(snap.stock))
    nearby = [
        tuple(int(s[c]) if c == "show_exact_stock" else s[c if c != "store_id" else "id"]
              for c in _NEARBY_STORE_COLUMNS)
        for s in snap.nearby_stores
    ]  # fmt: skip
    _insert(conn, "nearby_stores_new", 9, sorted(nearby))
    _insert(
        conn, "nearby_stock_new", 4, sorted((r[1], r[0], r[2], r[3]) for r in snap.nearby_stock)
    )
    _insert(
        conn, "staff_new", 3, sorted((s["staff_id"], s["name"], s["pin_hash"]) for s in snap.staff)
    )


def load_snapshot(conn: sqlite3.Connection, snap: Snapshot, hooks: Iterable[Hook] = ()) -> None:
    """Make ``snap`` the live data. ``BadStoreData`` for a snapshot the tables refuse
    (a SKU twice); on any error the old data stays live and the staging set is dropped."""
    generation = conn.execute(f"SELECT generation FROM {tables.STATE}").fetchone()[0] + 1
    try:
        try:
            _stage(conn, snap, generation)
        except sqlite3.IntegrityError as err:
            raise BadStoreData(f"snapshot {snap.version}: {err} (a row twice?)") from None
        now = format_ts(utcnow())
        with Write(conn):
            tables.swap(conn, "_new", "_old")
            conn.execute(
                f"UPDATE {tables.STATE} SET version = ?, generation = ?, built_at = ?, "
                "loaded_at = ?, delta_at = NULL, store = ? WHERE id = 1",
                (snap.version, generation, snap.built_at, now, store_json(snap.store)),
            )
            for hook in hooks:
                hook(conn, snap)
    finally:
        try:
            with Write(conn):
                tables.drop_set(conn, "_old")
                tables.drop_set(conn, "_new")
        except sqlite3.Error:
            log.exception("could not drop the replaced store-data tables (dropped at next load)")
