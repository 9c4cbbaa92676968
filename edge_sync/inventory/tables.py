"""The store-data cache tables in edge.db and the one state row that says what they hold.

The cache is rebuilt whole from every snapshot: ``create_set`` makes a full set of
tables under a suffix (``_new`` while loading), and ``swap`` renames the loaded set in
place of the live one inside one transaction, so a reader's transaction sees the old
set or the new one, never a mix. Table names and shapes (``staff`` is read by the
pickups logic) are in ``NAMES`` and ``COLUMNS``.

Renames leave explicit index names as they were, so the SKU index carries the set's
generation (``products_sku_g7``) and a new set never collides with the live one.
"""

from __future__ import annotations

import sqlite3

#: the cache tables, in the order they are created and swapped
NAMES = (
    "products",
    "products_fts",
    "product_words",
    "stock_here",
    "nearby_stores",
    "nearby_stock",
    "staff",
)
#: the tables a snapshot rewrites whole even when few products changed (the products,
#: their index and vocabulary are then patched in place)
STOCK_NAMES = ("stock_here", "nearby_stores", "nearby_stock", "staff")

#: the FTS5 index's columns (over ``products``, an external-content index)
FTS_COLUMNS = ("name", "brand", "category", "sku", "barcode")
#: unicode61 folds case and strips accents; the query side folds the same way (``text``)
TOKENIZE = "unicode61 remove_diacritics 2"

#: bm25 weights of FTS_COLUMNS
RANK_WEIGHTS = "10.0, 4.0, 2.0, 8.0, 8.0"

STATE = "inventory_state"
#: sync_state key where the daemon leaves its sync status for the kiosk's status screen
STATUS_KEY = "inventory_sync"

_TABLES: dict[str, tuple[dict[str, type], str | tuple[str, ...], tuple[str, ...]]] = {
    # name: (columns, primary key, not-null columns)
    "products": (
        {
            "id": int,
            "sku": str,
            "barcode": str,
            "name": str,
            "brand": str,
            "category": str,
            "price_minor": int,
            "currency": str,
            "image": str,
        },
        "id",
        ("sku", "barcode", "name", "brand", "category", "price_minor", "currency", "image"),
    ),
    "product_words": ({"word": str}, "word", ()),
    "stock_here": (
        {"sku": str, "quantity": int, "low_threshold": int},
        "sku",
        ("quantity", "low_threshold"),
    ),
    "nearby_stores": (
        {
            "store_id": str,
            "name": str,
            "address": str,
            "latitude": float,
            "longitude": float,
            "timezone": str,
            "show_exact_stock": int,
            "stock_as_of": str,
            "distance_km": float,
        },
        "store_id",
        ("name", "address", "latitude", "longitude", "timezone", "show_exact_stock", "distance_km"),
    ),
    # keyed by SKU first: the product page asks "who nearby has this SKU"
    "nearby_stock": (
        {"sku": str, "store_id": str, "quantity": int, "low_threshold": int},
        ("sku", "store_id"),
        ("quantity", "low_threshold"),
    ),
    "staff": ({"staff_id": str, "name": str, "pin_hash": str}, "staff_id", ("name", "pin_hash")),
}


def create_set(
    conn: sqlite3.Connection, suffix: str, generation: int, names: tuple[str, ...] = NAMES
) -> None:
    """Create the cache tables named ``<name><suffix>`` (empty) of ``names``, in the
    caller's transaction. The FTS index's content table is ``products`` (the live name):
    it is right once the set is swapped in, and the load fills the index itself. A load
    creates the SKU index after the rows are in (``index_set``): one sort, not 100,000
    inserts into a B-tree."""
    _create_tables(conn, suffix, names)
    if not suffix:
        index_set(conn, suffix, generation)


def _create_tables(conn: sqlite3.Connection, suffix: str, names: tuple[str, ...]) -> None:
    import sqlite_utils  # here, not at the top: it pulls in numpy, 0.15 s of the kiosk's start

    db = sqlite_utils.Database(conn)
    for name, (columns, pk, not_null) in _TABLES.items():
        if name not in names:
            continue
        sql = db.create_table_sql(name + suffix, columns, pk=pk, not_null=set(not_null),
                                  if_not_exists=True)  # fmt: skip
        # all but products (the FTS index's content, which needs a rowid) are keyed by
        # their primary key alone: one B-tree per table instead of a table and its index
        sql = sql.strip().rstrip(";")
        conn.execute(sql if name == "products" else sql + " WITHOUT ROWID")
    if "products_fts" not in names:
        return
    # Not sqlite-utils' enable_fts: it names the table it indexes as the content table,
    # which here is the staging name, wrong once the set is swapped in.
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS products_fts{suffix} USING fts5("
        f"{', '.join(FTS_COLUMNS)}, content='products', content_rowid='id', "
        f"tokenize='{TOKENIZE}')"
    )
    # ranking: a hit in the name, SKU or barcode counts more than one in the category
    conn.execute(
        f"INSERT INTO products_fts{suffix} (products_fts{suffix}, rank) "
        f"VALUES ('rank', 'bm25({RANK_WEIGHTS})')"
    )


def index_set(conn: sqlite3.Connection, suffix: str, generation: int) -> None:
    import sqlite_utils

    sqlite_utils.Database(conn)["products" + suffix].create_index(  # type: ignore[union-attr]
        ["sku"], index_name=f"products_sku_g{generation}", unique=True, if_not_exists=True
    )
    index_codes(conn, suffix, generation)


#: the columns searched by prefix through a B-tree (``Availability.search``: a typed
#: code); case-insensitive, as the on-screen keyboard types lower case
CODE_COLUMNS = ("sku", "barcode")


def index_codes(conn: sqlite3.Connection, suffix: str, generation: int) -> None:
    """The case-insensitive indexes of ``CODE_COLUMNS`` on ``products<suffix>``, unless
    it has them (under an earlier generation's name: a set loaded before they existed
    gets them at its next patch)."""
    table = "products" + suffix
    have = {
        r[0]
        for r in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
        )
        if r[0]
    }
    for col in CODE_COLUMNS:
        if not any(f'("{col}" COLLATE NOCASE)' in sql for sql in have):
            conn.execute(
                f'CREATE INDEX "products_{col}_nocase_g{generation}" '
                f'ON "{table}" ("{col}" COLLATE NOCASE)'
            )


def drop_set(conn: sqlite3.Connection, suffix: str) -> None:
    for name in NAMES:
        conn.execute(f"DROP TABLE IF EXISTS {name}{suffix}")


def swap(conn: sqlite3.Connection, new: str, old: str, names: tuple[str, ...] = NAMES) -> None:
    """Rename the live ``names`` to ``<name><old>`` and ``<name><new>`` to the live names,
    in the caller's transaction. ``legacy_alter_table`` keeps SQLite from rewriting other
    tables' views, triggers and foreign keys that name ``staff`` or ``products`` to the
    old set's names."""
    conn.execute("PRAGMA legacy_alter_table = ON")
    try:
        for name in names:
            conn.execute(f"ALTER TABLE {name} RENAME TO {name}{old}")
            conn.execute(f"ALTER TABLE {name}{new} RENAME TO {name}")
    finally:
        conn.execute("PRAGMA legacy_alter_table = OFF")


def create_state(conn: sqlite3.Connection) -> None:
    """The state row (migration 4): which snapshot version the live set is at, and when.
    Like ``create_set``, it leaves what exists: a file whose user_version was set back
    (tests of earlier migrations do that) migrates forward again."""
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {STATE} (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER,            -- NULL until the first snapshot is loaded
            generation INTEGER NOT NULL DEFAULT 0,
            built_at TEXT,              -- central built the loaded snapshot
            loaded_at TEXT,             -- this device swapped it in
            delta_at TEXT,              -- this device applied the last delta
            store TEXT)"""  # the device's own store (STORE_FIELDS) as JSON
    )
    conn.execute(f"INSERT OR IGNORE INTO {STATE} (id) VALUES (1)")
