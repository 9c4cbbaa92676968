"""Loading a snapshot into a new set of cache tables and swapping it in.

The load writes the ``_new`` set in chunks, each its own short transaction: the tables
are invisible to readers until the swap, and a kiosk enqueueing an event (the same
file's write lock) waits for one chunk at most, not for the whole catalog. The swap
then renames the sets, writes the state row and runs the hooks (the pickups logic
stores ``snapshot.pickups`` there) in one transaction: a reader sees all of the old
data or all of the new, and a hook that fails leaves the old set live.

When few products differ from the live ones (the usual refetch after a gap), the
products, their search index and the vocabulary are not staged at all but patched in
place inside the swap transaction (``ProductPatch``); only the stock, the nearby stores
and the staff are staged and renamed in. A first load, or a catalog mostly changed,
stages a whole new set with a new index.

Rows go in with raw ``sqlite3.executemany`` (see docs/decisions.md, "Store data at the
edge"): sqlite-utils' ``insert_all`` builds each chunk's SQL from dicts, which for a
100,000-product catalog costs more than the insert itself.
"""

from __future__ import annotations

import json
import logging
import operator
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from ..protocol.ids import format_ts, utcnow
from ..protocol.store_data import PRODUCT_FIELDS, STORE_FIELDS, BadStoreData, Snapshot
from . import tables
from .text import vocabulary

log = logging.getLogger(__name__)

#: called inside the swap transaction with the snapshot being swapped in
Hook = Callable[[sqlite3.Connection, Snapshot], None]

#: rows per staging transaction
CHUNK = 20_000
#: a snapshot that changes more of the products than this share (and more than
#: PATCH_MIN) gets a new set with a new index; fewer, and the live ones are patched
PATCH_MAX_SHARE = 0.1
PATCH_MIN = 1000
#: page cache of the loading connection while it loads (KiB, on demand, given back
#: after): the live products and their SKU index are probed for every snapshot product,
#: and the staged B-trees and the old set's drop stay in memory instead of spilling
LOAD_CACHE_KIB = 64 * 1024
#: FTS5's default automerge, set again once a new index is built with automerge off
FTS_AUTOMERGE = 4

_NEARBY_STORE_COLUMNS = ("store_id", "name", "address", "latitude", "longitude", "timezone",
                         "show_exact_stock", "stock_as_of", "distance_km")  # fmt: skip
_FIELDS = ", ".join(PRODUCT_FIELDS)
_COLS = ", ".join(tables.FTS_COLUMNS)
#: where FTS_COLUMNS are in a products row (id, *PRODUCT_FIELDS)
_FTS_AT = tuple(1 + PRODUCT_FIELDS.index(c) for c in tables.FTS_COLUMNS)


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


class _TempWrite(Write):
    """A deferred ``BEGIN``: a transaction that reads the live tables and writes only
    temp tables takes no write lock on the file."""

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN")
        return self.conn


def _insert(
    conn: sqlite3.Connection, table: str, width: int, rows: Sequence[Any], columns: str = ""
) -> None:
    """``rows`` into ``table`` in CHUNK-row transactions; ``columns`` names the columns
    (``" (a, b)"``) or maps the rows' items to them (``"?2, ?1"``)."""
    if columns.startswith("?"):
        sql = f"INSERT INTO {table} VALUES ({columns})"
    else:
        sql = f"INSERT INTO {table}{columns} VALUES ({', '.join('?' * width)})"
    for start in range(0, len(rows), CHUNK):
        with Write(conn):
            conn.executemany(sql, rows[start : start + CHUNK])


def store_json(store: dict[str, Any]) -> str:
    return json.dumps({f: store[f] for f in STORE_FIELDS}, sort_keys=True)


# -- few products changed: patch the live ones -------------------------------------------


@dataclass(slots=True)
class ProductPatch:
    """What makes the live products a snapshot's; live rows are ``(id, *PRODUCT_FIELDS)``."""

    changed: list[tuple[tuple[Any, ...], list[Any]]]  # (live row, the snapshot's fields)
    added: list[list[Any]]
    gone: list[tuple[Any, ...]]
    #: the state row it was computed against: a delta in between makes it wrong
    state: tuple[Any, ...]


def _state(conn: sqlite3.Connection) -> tuple[Any, ...]:
    return conn.execute(f"SELECT version, generation, delta_at FROM {tables.STATE}").fetchone()


_DIFF_TABLE = "temp.inventory_product_diff"
#: one snapshot product in; out, when it differs from the live one, the live id (NULL
#: when the SKU is new) and the product as the snapshot has it
_DIFF = (
    f"INSERT INTO {_DIFF_TABLE} SELECT p.id, {', '.join(f'?{i}' for i in range(1, 9))} "
    "FROM (SELECT 1) LEFT JOIN products p ON p.sku = ?1 WHERE p.id IS NULL OR "
    + " OR ".join(f"p.{f} IS NOT ?{i}" for i, f in enumerate(PRODUCT_FIELDS[1:], 2))
)


def product_patch(conn: sqlite3.Connection, products: list[list[Any]]) -> ProductPatch | None:
    """The patch from the live products to ``products``, or None when there are none
    live or more than a patch is worth differ. SQLite compares each snapshot product
    with the live one (an ``executemany`` that keeps only the SKUs that differ): reading
    the live rows into Python to compare them there costs half as much again."""
    state = _state(conn)
    live_n = conn.execute("SELECT count(*) FROM products").fetchone()[0]
    if not live_n:
        return None  # a new set: its unique SKU index refuses a SKU twice
    skus = [p[0] for p in products]
    # central sends them by SKU: strictly ascending is one pass, and no SKU twice
    if not all(map(operator.lt, skus, islice(skus, 1, None))) and len(set(skus)) != len(skus):
        raise BadStoreData("snapshot: a SKU twice in the products")
    limit = max(PATCH_MIN, int(PATCH_MAX_SHARE * max(len(products), live_n)))
    conn.execute(f"CREATE TABLE IF NOT EXISTS {_DIFF_TABLE} (id INTEGER, {_FIELDS})")
    try:
        for start in range(0, len(products), CHUNK):  # a catalog mostly new stops early
            with _TempWrite(conn):
                conn.executemany(_DIFF, products[start : start + CHUNK])
            differ = conn.execute(f"SELECT count(*) FROM {_DIFF_TABLE}").fetchone()[0]
            if differ > limit:
                return None
        diff = conn.execute(
            f"SELECT d.*, p.id, {', '.join('p.' + f for f in PRODUCT_FIELDS)} "
            f"FROM {_DIFF_TABLE} d LEFT JOIN products p ON p.id = d.id ORDER BY d.rowid"
        ).fetchall()
    finally:
        conn.execute(f"DELETE FROM {_DIFF_TABLE}")
    # diff rows: (live id or NULL, *the snapshot's product, *the live row or NULLs)
    changed = [(r[9:], list(r[1:9])) for r in diff if r[0] is not None]
    added = [list(r[1:9]) for r in diff if r[0] is None]
    gone: list[tuple[Any, ...]] = []
    if len(products) - len(added) != live_n:
        gone_skus = {r[0] for r in conn.execute("SELECT sku FROM products")} - set(skus)
        gone = [
            conn.execute(f"SELECT id, {_FIELDS} FROM products WHERE sku = ?", (s,)).fetchone()
            for s in gone_skus
        ]
    if len(changed) + len(added) + len(gone) > limit:
        return None
    return ProductPatch(changed, added, gone, state)


_FTS_DELETE = (
    f"INSERT INTO products_fts (products_fts, rowid, {_COLS}) VALUES ('delete', ?, ?, ?, ?, ?, ?)"
)
_FTS_INSERT = f"INSERT INTO products_fts (rowid, {_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
_UPDATE = f"UPDATE products SET {', '.join(f + ' = ?' for f in PRODUCT_FIELDS[1:])} WHERE id = ?"


def _fts_row(r: Sequence[Any]) -> tuple[Any, ...]:
    return (r[0], *(r[i] for i in _FTS_AT))


def _apply_patch(conn: sqlite3.Connection, patch: ProductPatch) -> None:
    """In the swap transaction: the live products, their entries in the search index
    (external content: deleted with the old text) and the vocabulary made the snapshot's.
    Words no product uses any more stay, as after a delta."""
    if _state(conn) != patch.state:  # the daemon's one thread loads and applies deltas
        raise sqlite3.OperationalError("the live store data changed during the load")
    olds = [old for old, _ in patch.changed] + patch.gone
    conn.executemany(_FTS_DELETE, [_fts_row(r) for r in olds])
    conn.executemany("DELETE FROM products WHERE id = ?", [(r[0],) for r in patch.gone])
    conn.executemany(_UPDATE, [(*p[1:], old[0]) for old, p in patch.changed])
    next_id = (conn.execute("SELECT max(id) FROM products").fetchone()[0] or 0) + 1
    added = [(pid, *p) for pid, p in enumerate(patch.added, next_id)]
    conn.executemany(f"INSERT INTO products (id, {_FIELDS}) VALUES (?{', ?' * 8})", added)
    news = [(old[0], *p) for old, p in patch.changed] + added
    conn.executemany(_FTS_INSERT, [_fts_row(r) for r in news])
    ws = vocabulary(r[i] for r in news for i in _FTS_AT)
    conn.executemany("INSERT OR IGNORE INTO product_words (word) VALUES (?)", [(w,) for w in ws])


# -- a new set ---------------------------------------------------------------------------


def _stage_products(conn: sqlite3.Connection, snap: Snapshot, generation: int) -> None:
    """Products (ids 1… in the snapshot's order), the SKU index, a new search index and
    its vocabulary. The index is built with automerge off: each chunk's commit then
    leaves its segments as they are instead of merging them (about a fifth of the
    build); searches over those few segments are as fast, and automerge is set back
    for the deltas' small writes."""
    _insert(conn, "products_new", 8, snap.products, f" ({_FIELDS})")
    with Write(conn):
        tables.index_set(conn, "_new", generation)
        conn.execute(
            "INSERT INTO products_fts_new (products_fts_new, rank) VALUES ('automerge', 0)"
        )
    for start in range(1, len(snap.products) + 1, CHUNK):
        with Write(conn):
            conn.execute(
                f"INSERT INTO products_fts_new (rowid, {_COLS}) SELECT id, {_COLS} "
                "FROM products_new WHERE id >= ? AND id < ?",
                (start, start + CHUNK),
            )
    with Write(conn):
        conn.execute(
            "INSERT INTO products_fts_new (products_fts_new, rank) VALUES ('automerge', ?)",
            (FTS_AUTOMERGE,),
        )
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


def _stage(
    conn: sqlite3.Connection, snap: Snapshot, generation: int, patch: ProductPatch | None
) -> None:
    """Load the ``_new`` set: all of it, or without the products when they are patched."""
    names = tables.STOCK_NAMES if patch else tables.NAMES
    with Write(conn):
        tables.drop_set(conn, "_new")
        tables.drop_set(conn, "_old")
        tables.create_set(conn, "_new", generation, names)
    if patch is None:
        _stage_products(conn, snap, generation)
    # as they come: sorting in Python first costs more than SQLite saves by it
    _insert(conn, "stock_here_new", 3, snap.stock)
    nearby = [
        tuple(int(s[c]) if c == "show_exact_stock" else s[c if c != "store_id" else "id"]
              for c in _NEARBY_STORE_COLUMNS)
        for s in snap.nearby_stores
    ]  # fmt: skip
    _insert(conn, "nearby_stores_new", 9, nearby)
    # the snapshot's rows as they are (store, SKU, …) into the table's (SKU, store, …):
    # numbered parameters cost nothing, a reordered copy of 100,000 rows 15 ms
    _insert(conn, "nearby_stock_new", 4, snap.nearby_stock, "?2, ?1, ?3, ?4")
    _insert(conn, "staff_new", 3, [(s["staff_id"], s["name"], s["pin_hash"]) for s in snap.staff])


def load_snapshot(conn: sqlite3.Connection, snap: Snapshot, hooks: Iterable[Hook] = ()) -> None:
    """Make ``snap`` the live data. ``BadStoreData`` for a snapshot the tables refuse
    (a SKU twice); on any error the old data stays live and the staging set is dropped."""
    generation = conn.execute(f"SELECT generation FROM {tables.STATE}").fetchone()[0] + 1
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB:d}")
    try:
        patch = product_patch(conn, snap.products)
        try:
            _stage(conn, snap, generation, patch)
        except sqlite3.IntegrityError as err:
            raise BadStoreData(f"snapshot {snap.version}: {err} (a row twice?)") from None
        how = (
            f"patching {len(patch.changed) + len(patch.added) + len(patch.gone)} products"
            if patch
            else "with a new search index"
        )
        log.info("swapping in snapshot %d, %s", snap.version, how)
        now = format_ts(utcnow())
        with Write(conn):
            if patch:
                tables.index_codes(conn, "", generation)  # a set loaded before they were
                _apply_patch(conn, patch)
                tables.swap(conn, "_new", "_old", tables.STOCK_NAMES)
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
        conn.execute(f"PRAGMA cache_size = {cache:d}")
