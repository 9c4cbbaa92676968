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
from .text import words

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
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:  # SQLite rolls back by itself after some errors
            self.conn.execute("ROLLBACK")


def _insert(conn: sqlite3.Connection, table: str, width: int, rows: Sequence[Any]) -> None:
    sql = f"INSERT INTO {table} VALUES ({', '.join('?' * width)})"
    for start in range(0, len(rows), CHUNK):
        with Write(conn):
            conn.executemany(sql, rows[start : start + CHUNK])


def store_json(store: dict[str, Any]) -> str:
    return json.dumps({f: store[f] for f in STORE_FIELDS}, sort_keys=True)


def _product_rows(conn: sqlite3.Connection, snap: Snapshot) -> list[tuple[Any, ...]]:
    """The products with their ids: a SKU the live set has keeps its id (so the live FTS
    index's entries for it stay right), a new one gets the next free id."""
    ids = dict(conn.execute("SELECT sku, id FROM products"))
    next_id = max(ids.values(), default=0) + 1
    rows = []
    for p in snap.products:
        pid = ids.get(p[0])
        if pid is None:
            pid, next_id = next_id, next_id + 1
        rows.append((pid, *p))
    rows.sort(key=lambda r: r[0])
    return rows


_COLS = ", ".join(tables.FTS_COLUMNS)
_CHANGED = " OR ".join(f"n.{c} IS NOT o.{c}" for c in tables.FTS_COLUMNS)
_OLD = ", ".join(f"o.{c}" for c in tables.FTS_COLUMNS)
_NEW = ", ".join(f"n.{c}" for c in tables.FTS_COLUMNS)
#: a snapshot that changes more of the indexed products than this share (and more than
#: PATCH_MIN) gets a new index; fewer, and the live index is patched in the swap
PATCH_MAX_SHARE = 0.1
PATCH_MIN = 1000


def _changed(old: str, new: str) -> tuple[str, str]:
    """SELECTs of the products of ``old`` gone or changed in ``new`` (their old text, for
    FTS5's delete), and of those new or changed in ``new`` (their new text)."""
    return (
        f"SELECT 'delete', o.id, {_OLD} FROM {old} o LEFT JOIN {new} n ON n.id = o.id "
        f"WHERE n.id IS NULL OR {_CHANGED}",
        f"SELECT n.id, {_NEW} FROM {new} n LEFT JOIN {old} o ON o.id = n.id "
        f"WHERE o.id IS NULL OR {_CHANGED}",
    )


def _patch_index(conn: sqlite3.Connection) -> None:
    """In the swap transaction, after the renames: update the live FTS index for the
    products that differ between the old set (``products_old``) and the new."""
    gone, came = _changed("products_old", "products")
    conn.execute(f"INSERT INTO products_fts (products_fts, rowid, {_COLS}) {gone}")
    conn.execute(f"INSERT INTO products_fts (rowid, {_COLS}) {came}")


def _patchable(conn: sqlite3.Connection, n: int) -> bool:
    """Whether the live index can be patched (it exists and few products differ), which
    costs a join instead of tokenizing the catalog again."""
    live = conn.execute("SELECT count(*) FROM products").fetchone()[0]
    if not live:
        return False
    gone, came = _changed("products", "products_new")
    limit = max(PATCH_MIN, int(PATCH_MAX_SHARE * max(n, live)))
    differ = conn.execute(f"SELECT count(*) FROM ({gone} LIMIT {limit + 1})").fetchone()[0]
    differ += conn.execute(f"SELECT count(*) FROM ({came} LIMIT {limit + 1})").fetchone()[0]
    return differ <= limit


def _index_all(conn: sqlite3.Connection, last_id: int) -> None:
    for start in range(1, last_id + 1, CHUNK):
        with Write(conn):
            conn.execute(
                f"INSERT INTO products_fts_new (rowid, {_COLS}) SELECT id, {_COLS} "
                "FROM products_new WHERE id >= ? AND id < ?",
                (start, start + CHUNK),
            )
    with Write(conn):
        # the vocabulary for typo tolerance: the index's words, read from it (not codes
        # with digits: a barcode or SKU one digit off is another product, not a typo)
        conn.execute("DROP TABLE IF EXISTS temp.inventory_vocab")
        conn.execute(
            "CREATE VIRTUAL TABLE temp.inventory_vocab USING fts5vocab(main, products_fts_new, row)"
        )
        conn.execute(
            "INSERT INTO product_words_new (word) SELECT term FROM temp.inventory_vocab "
            "WHERE term NOT GLOB '*[0-9]*'"
        )
        conn.execute("DROP TABLE temp.inventory_vocab")


def _words_patched(conn: sqlite3.Connection) -> None:
    """The live vocabulary and the words of the products new or changed (as deltas add
    them; words no product uses any more stay until a snapshot rebuilds the index)."""
    with Write(conn):
        conn.execute("INSERT INTO product_words_new SELECT word FROM product_words")
        _, came = _changed("products", "products_new")
        new_words = {
            (w,) for r in conn.execute(came) for field in r[1:] for w in words(field)
            if not any(ch.isdigit() for ch in w)
        }  # fmt: skip
        conn.executemany("INSERT OR IGNORE INTO product_words_new VALUES (?)", new_words)


def _stage(conn: sqlite3.Connection, snap: Snapshot, generation: int) -> bool:
    """Load the ``_new`` set; True when the live FTS index is to be patched in the swap
    (``products_fts_new`` then stays empty)."""
    with Write(conn):
        tables.drop_set(conn, "_new")
        tables.drop_set(conn, "_old")
        tables.create_set(conn, "_new", generation)
    products = _product_rows(conn, snap)
    _insert(conn, "products_new", 9, products)
    with Write(conn):
        tables.index_set(conn, "_new", generation)
    patch = _patchable(conn, len(products))
    if patch:
        _words_patched(conn)
    else:
        _index_all(conn, products[-1][0] if products else 0)
    # as they come: sorting in Python first costs more than SQLite saves by it
    _insert(conn, "stock_here_new", 3, snap.stock)
    nearby = [
        tuple(int(s[c]) if c == "show_exact_stock" else s[c if c != "store_id" else "id"]
              for c in _NEARBY_STORE_COLUMNS)
        for s in snap.nearby_stores
    ]  # fmt: skip
    _insert(conn, "nearby_stores_new", 9, nearby)
    _insert(conn, "nearby_stock_new", 4, [(r[1], r[0], r[2], r[3]) for r in snap.nearby_stock])
    _insert(conn, "staff_new", 3, [(s["staff_id"], s["name"], s["pin_hash"]) for s in snap.staff])
    return patch


def load_snapshot(conn: sqlite3.Connection, snap: Snapshot, hooks: Iterable[Hook] = ()) -> None:
    """Make ``snap`` the live data. ``BadStoreData`` for a snapshot the tables refuse
    (a SKU twice); on any error the old data stays live and the staging set is dropped."""
    generation = conn.execute(f"SELECT generation FROM {tables.STATE}").fetchone()[0] + 1
    try:
        try:
            patch = _stage(conn, snap, generation)
        except sqlite3.IntegrityError as err:
            raise BadStoreData(f"snapshot {snap.version}: {err} (a row twice?)") from None
        how = "patching the live search index" if patch else "with a new search index"
        log.info("swapping in snapshot %d, %s", snap.version, how)
        now = format_ts(utcnow())
        with Write(conn):
            if patch:
                tables.swap(
                    conn, "_new", "_old", tuple(n for n in tables.NAMES if n != "products_fts")
                )
                _patch_index(conn)
            else:
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
