"""The kiosk's read-only view of store data: search, and a product's availability.

Reads only edge.db (the sync daemon keeps it current); each call is one read
transaction, so a search or a product page never mixes data from before and after a
delta or a snapshot swap.

* ``search(query)``: by name, brand, category, SKU or barcode with FTS5; every word
  also matches as a prefix ("gard" finds "Garden"); when nothing matches, words one
  typo away from the vocabulary are tried ("hammr" finds "hammer"). An exact SKU comes
  first. A hit out of stock here (or not sold here) carries the nearest store nearby
  that has it.
* ``product(sku)``: the product, its stock here (in stock / low / out, the number only
  where the store shows exact stock), the nearby stores that list it, nearest first,
  each with its stock and as-of time, and how old the data is.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..db import open_edge_db
from ..protocol.ids import parse_ts, utcnow
from . import tables
from .text import MAX_TYPO_WORDS, MIN_TYPO_LEN, edits1, match_query, words

StockState = Literal["in_stock", "low", "out"]
#: matches ranked by bm25 at most (``Availability._match``)
RANK_CAP = 4000
#: a broader query's tiers: FTS5 column filters, best first; None: any column
BROAD_TIERS = ("name", "sku barcode", None)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower case as SQLite's NOCASE compares (ASCII letters only)."""
    return text.translate(_ASCII_LOWER)


def looks_like_code(typed: str) -> bool:
    """A SKU or barcode being typed: one word of two or more characters, a digit in it."""
    return (
        len(typed) >= 2 and not any(c.isspace() for c in typed) and any(c.isdigit() for c in typed)
    )


_PRODUCT_COLS = ("sku", "barcode", "name", "brand", "category", "price_minor", "currency", "image")


def stock_state(quantity: int, low_threshold: int) -> StockState:
    """``out`` at 0, ``low`` from 1 up to the threshold, ``in_stock`` above it."""
    if quantity <= 0:
        return "out"
    return "low" if quantity <= low_threshold else "in_stock"


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    barcode: str
    name: str
    brand: str
    category: str
    price_minor: int
    currency: str
    image: str


@dataclass(frozen=True, slots=True)
class StockHere:
    state: StockState
    #: the number on the shelf, only where the store shows exact stock
    quantity: int | None
    #: False: the store does not list this SKU at all
    listed: bool


@dataclass(frozen=True, slots=True)
class NearbyStock:
    store_id: str
    name: str
    address: str
    distance_km: float
    state: StockState
    quantity: int | None
    #: when that store's stock was counted (central's figure), and how long ago
    stock_as_of: str | None
    age_s: float | None


@dataclass(frozen=True, slots=True)
class DataAge:
    """How old what the kiosk shows is."""

    version: int | None
    built_at: str | None  # central built the snapshot the device loaded
    loaded_at: str | None  # the device loaded it
    delta_at: str | None  # the device applied the last delta since
    stock_as_of: str | None  # the store's stock was counted then (central's figure)
    age_s: float | None  # seconds since stock_as_of (or built_at)


@dataclass(frozen=True, slots=True)
class ProductAvailability:
    product: Product
    here: StockHere
    nearby: list[NearbyStock]
    data: DataAge


@dataclass(frozen=True, slots=True)
class SearchHit:
    product: Product
    here: StockHere
    #: for a product out (or not sold) here: the nearest store nearby that has it
    nearest: NearbyStock | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[SearchHit]
    #: query word → the words searched instead (typo tolerance); empty when none
    corrected: dict[str, list[str]]


def _age(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return max(0.0, (utcnow() - parse_ts(ts)).total_seconds())
    except ValueError:
        return None


class Availability:
    def __init__(self, db_path: str | Path) -> None:
        self._conn, _ = open_edge_db(db_path)
        self._lock = threading.Lock()
        # By hand, not sqlite-utils' search_sql: that finds the index by its content
        # table, and while a snapshot loads a second index names "products" too.
        self._search_sql = (
            f"SELECT p.id, {', '.join('p.' + c for c in _PRODUCT_COLS)} FROM products_fts f "
            "JOIN products p ON p.id = f.rowid WHERE products_fts MATCH :query "
            "ORDER BY f.rank LIMIT :limit"
        )
        cols = ", ".join("p." + c for c in _PRODUCT_COLS)
        join = "FROM products_fts f JOIN products p ON p.id = f.rowid WHERE products_fts MATCH ?"
        self._probe_sql = "SELECT rowid FROM products_fts WHERE products_fts MATCH ? LIMIT ?"
        self._first_sql = f"SELECT p.id, {cols} {join} LIMIT ?"
        plain = f"SELECT id, {', '.join(_PRODUCT_COLS)} FROM products"
        self._exact_sql = f"{plain} WHERE sku = ?"
        self._codes_sql = (
            f"{plain} WHERE sku = ?1 COLLATE NOCASE UNION "
            f"{plain} WHERE barcode = ?2 COLLATE NOCASE LIMIT ?3"
        )
        self._prefix_sql = [
            f"{plain} WHERE {c} COLLATE NOCASE >= ? AND {c} COLLATE NOCASE < ? "
            f"ORDER BY {c} COLLATE NOCASE LIMIT ?"
            for c in tables.CODE_COLUMNS
        ]

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    # -- what is stored ----------------------------------------------------------------------

    def _state(self, conn: sqlite3.Connection) -> tuple[DataAge, dict[str, Any]]:
        row = conn.execute(
            f"SELECT version, built_at, loaded_at, delta_at, store FROM {tables.STATE}"
        ).fetchone()
        store = json.loads(row[4]) if row[4] else {}
        as_of = store.get("stock_as_of")
        return DataAge(row[0], row[1], row[2], row[3], as_of, _age(as_of or row[1])), store

    def data_age(self) -> DataAge:
        with self._read() as conn:
            return self._state(conn)[0]

    def store(self) -> dict[str, Any]:
        """The device's own store as the last snapshot or delta said (``id``, ``name``,
        ``address``, ``timezone``, ``show_exact_stock``, …); empty before the first."""
        with self._read() as conn:
            return self._state(conn)[1]

    def _here(self, conn: sqlite3.Connection, sku: str, exact: bool) -> StockHere:
        row = conn.execute(
            "SELECT quantity, low_threshold FROM stock_here WHERE sku = ?", (sku,)
        ).fetchone()
        if row is None:
            return StockHere("out", 0 if exact else None, False)
        return StockHere(stock_state(row[0], row[1]), row[0] if exact else None, True)

    # -- product page ------------------------------------------------------------------------

    def product(self, sku: str) -> ProductAvailability | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {', '.join(_PRODUCT_COLS)} FROM products WHERE sku = ?", (sku,)
            ).fetchone()
            if row is None:
                return None
            data, store = self._state(conn)
            here = self._here(conn, sku, bool(store.get("show_exact_stock")))
            return ProductAvailability(Product(*row), here, self._nearby(conn, sku), data)

    def _nearby(self, conn: sqlite3.Connection, sku: str) -> list[NearbyStock]:
        """The nearby stores that list ``sku``, nearest first."""
        rows = conn.execute(
            "SELECT s.store_id, s.name, s.address, s.distance_km, n.quantity, "
            "n.low_threshold, s.show_exact_stock, s.stock_as_of "
            "FROM nearby_stock n JOIN nearby_stores s ON s.store_id = n.store_id "
            "WHERE n.sku = ? ORDER BY s.distance_km, s.store_id",
            (sku,),
        )
        return [
            NearbyStock(
                store,
                name,
                address,
                km,
                stock_state(qty, low),
                qty if exact else None,
                as_of,
                _age(as_of),
            )
            for store, name, address, km, qty, low, exact, as_of in rows
        ]

    def _nearest(self, conn: sqlite3.Connection, sku: str) -> NearbyStock | None:
        """The nearest store nearby where ``sku`` is not out."""
        return next((n for n in self._nearby(conn, sku) if n.state != "out"), None)

    # -- search ------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20) -> SearchResult:
        """Exact SKU or barcode first, then (for a typed code) SKUs and barcodes that
        start with it, then the index's matches: ranked by bm25 when at most
        ``RANK_CAP`` products match, else by tiers (see ``_match``)."""
        limit = max(1, min(int(limit), 200))
        ws = words(query)[:16]
        if not ws:
            return SearchResult([], {})
        with self._read() as conn:
            exact = bool(self._state(conn)[1].get("show_exact_stock"))
            found: dict[int, tuple[Any, ...]] = {}
            for r in self._codes(conn, query.strip(), limit):
                found.setdefault(r[0], r)
            corrected: dict[str, list[str]] = {}
            rows: list[tuple[Any, ...]] = []
            if len(found) < limit:  # a code's page full of codes needs no index
                rows = self._match(conn, match_query(ws), limit + len(found))
                if not rows and not found:
                    corrected = self._typos(conn, ws)
                    if corrected:
                        rows = self._match(conn, match_query(ws, alternatives=corrected), limit)
            for r in rows:
                found.setdefault(r[0], r)
            hits = []
            for r in list(found.values())[:limit]:
                here = self._here(conn, r[1], exact)
                nearest = self._nearest(conn, r[1]) if here.state == "out" else None
                hits.append(SearchHit(Product(*r[1:]), here, nearest))
            return SearchResult(hits, corrected)

    def _codes(self, conn: sqlite3.Connection, typed: str, limit: int) -> list[tuple[Any, ...]]:
        """The SKU as typed; for a typed code (one word with a digit, ``looks_like_code``)
        also the SKUs and barcodes equal to it in any case, then those that start with
        it, each in code order: B-tree ranges (``tables.index_codes``), where the
        index's prefix ("sku"* AND "0"* for "SKU-0") matches most of the catalog and
        ranking that many costs 0.2 s."""
        out = conn.execute(self._exact_sql, (typed,)).fetchall()
        if not looks_like_code(typed):
            return out
        lo = ascii_lower(typed)
        out += conn.execute(self._codes_sql, (lo, lo, limit)).fetchall()
        hi = lo + "\U0010ffff"  # above every text that starts with lo
        for sql in self._prefix_sql:
            if len(out) >= limit + 2:
                break
            out += conn.execute(sql, (lo, hi, limit)).fetchall()
        return out

    def _match(self, conn: sqlite3.Connection, expr: str, limit: int) -> list[tuple[Any, ...]]:
        """The index's matches for ``expr``. Up to ``RANK_CAP`` of them are ranked by
        bm25, which scores every match (and counts them all for its IDF): 100,000 take
        0.15–0.25 s. A query matching more (a word's first letters, "ga", "sk" …) takes
        the first matches in catalog order of each tier in turn: in the name, in the SKU
        or barcode, anywhere; the tiers follow the weights of ``tables.RANK_WEIGHTS``."""
        probe = conn.execute(self._probe_sql, (expr, RANK_CAP + 1)).fetchall()
        if not probe:
            return []
        if len(probe) <= RANK_CAP:
            return conn.execute(self._search_sql, {"query": expr, "limit": limit}).fetchall()
        out: dict[int, tuple[Any, ...]] = {}
        for cols in BROAD_TIERS:
            tier = f"{{{cols}}} : ({expr})" if cols else expr
            for r in conn.execute(self._first_sql, (tier, limit)):
                out.setdefault(r[0], r)
            if len(out) >= limit:
                break
        return list(out.values())[:limit]

    def _typos(self, conn: sqlite3.Connection, ws: list[str]) -> dict[str, list[str]]:
        """Query words not in the vocabulary → the vocabulary's words one edit away."""
        out: dict[str, list[str]] = {}
        typed = [w for w in ws if len(w) >= MIN_TYPO_LEN and not any(c.isdigit() for c in w)]
        for w in typed[:MAX_TYPO_WORDS]:
            if conn.execute("SELECT 1 FROM product_words WHERE word = ?", (w,)).fetchone():
                continue
            cands = sorted(edits1(w))
            hits: list[str] = []
            for i in range(0, len(cands), 900):
                part = cands[i : i + 900]
                hits += [r[0] for r in conn.execute(
                    f"SELECT word FROM product_words WHERE word IN ({', '.join('?' * len(part))})",
                    part,
                )]  # fmt: skip
            if hits:
                out[w] = sorted(hits)[:8]
        return out

    def close(self) -> None:
        self._conn.close()
