"""The device's side of ``benchmarks/store_data.py``: search, snapshot swap, deltas.

* inventory_search_p95_ms: the kiosk's ``Availability.search`` over a fixed mix of
  prefix, full-word, SKU, barcode and typo queries on a 100,000-SKU catalog (p95 of
  every query's wall time, each with its stock lookups); the bare baseline is one plain
  FTS5 ``MATCH … ORDER BY rank LIMIT 20`` of the same words in the same run, and
  inventory_search_ratio is ours ÷ bare (p95s);
* inventory_swap_ratio: loading a parsed snapshot (100,000 products, their stock here,
  5 nearby stores × 20,000 SKUs, the FTS index and the vocabulary) and swapping it in,
  as a device refetching after a gap does (1 % of the products changed since its data,
  all its own stock redrawn: the live products and their search index are patched, the
  stock tables loaded new), ÷ a raw ``executemany`` of the same rows into plain tables,
  one transaction, same file and connection settings (``synchronous``, page cache); the
  median round is the result;
  inventory_first_load_ratio the same for a first load (the index built whole);
* inventory_delta_changes_s: changes/s applying deltas of 5,000 changes (stock here and
  nearby, 5 % products) in version order, each delta one transaction.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import median, percentile, result
from edge_sync.db import open_edge_db
from edge_sync.inventory.availability import Availability
from edge_sync.inventory.deltas import apply_delta
from edge_sync.inventory.load import LOAD_CACHE_KIB, load_snapshot
from edge_sync.inventory.text import match_query, words
from edge_sync.protocol.store_data import Delta, Snapshot, changes_sha256, parse_snapshot

STORE = "s042"
ADJ = [
    "Cordless",
    "Heavy",
    "Compact",
    "Premium",
    "Classic",
    "Garden",
    "Pro",
    "Mini",
    "Steel",
    "Folding",
    "Electric",
    "Manual",
    "Outdoor",
    "Indoor",
    "Rapid",
    "Silent",
    "Smart",
    "Eco",
]
NOUN = [
    "Drill",
    "Hammer",
    "Hose",
    "Rake",
    "Saw",
    "Screwdriver",
    "Wrench",
    "Ladder",
    "Shovel",
    "Lamp",
    "Bucket",
    "Brush",
    "Sander",
    "Grinder",
    "Mower",
    "Trimmer",
    "Pliers",
    "Chisel",
    "Toolbox",
    "Workbench",
    "Sprinkler",
    "Wheelbarrow",
    "Tape",
    "Level",
    "Clamp",
]
BRANDS = [
    "Bosch",
    "Makita",
    "Gardena",
    "Stanley",
    "Estwing",
    "Stabila",
    "Wera",
    "Knipex",
    "Fiskars",
    "Kärcher",
    "Einhell",
    "Metabo",
    "Festool",
    "Hilti",
    "Ryobi",
    "Wolf",
]
CATS = ["Tools/Power tools", "Tools/Hand tools", "Garden/Watering", "Garden/Tools",
        "Lighting", "Storage", "Paint", "Plumbing", "Electrical", "Safety"]  # fmt: skip


def ean13(body: str) -> str:
    d = [int(c) for c in body]
    return body + str((10 - sum(x * (3 if i % 2 else 1) for i, x in enumerate(d)) % 10) % 10)


def catalog(n: int, rng: random.Random) -> dict[str, Any]:
    products = []
    for i in range(n):
        name = (f"{rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(['S', 'M', 'L', 'XL'])} "
                f"{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}{i % 1000}")  # fmt: skip
        products.append([f"SKU-{i:06d}", ean13(f"40{i:010d}"), name, rng.choice(BRANDS),
                         rng.choice(CATS), 100 + i % 9000, "EUR", ""])  # fmt: skip
    store = {"id": STORE, "name": "Store", "address": "", "latitude": 48.1, "longitude": 11.5,
             "timezone": "Europe/Berlin", "show_exact_stock": False,
             "stock_as_of": "2026-12-01T09:00:00Z"}  # fmt: skip
    nearby = [{**store, "id": f"s{43 + k:03d}", "distance_km": 2.0 + k} for k in range(5)]
    per = n // 5
    return {
        "format": 1, "store_id": STORE, "version": 1, "built_at": "2026-12-01T10:00:00Z",
        "store": store, "products": products,
        "stock": [[p[0], rng.randint(0, 40), 3] for p in products],
        "nearby_stores": nearby,
        "nearby_stock": [[s["id"], p[0], rng.randint(0, 40), 3] for s in nearby
                         for p in rng.sample(products, per)],
        "staff": [{"staff_id": "st1", "name": "Ann", "pin_hash": "x"}], "pickups": [],
    }  # fmt: skip


def queries(snap: dict[str, Any], rng: random.Random) -> list[str]:
    """The fixed mix: 10 prefix, 10 full-word, 10 barcode, 5 SKU, 10 typo queries."""
    ps = snap["products"]
    prefix = ["gard", "hamm", "cordl", "screwd", "bos", "garden ho", "whee", "sprink", "kär",
              "makita dr"]  # fmt: skip
    full = ["hammer", "drill", "garden hose", "bosch", "ladder", "wrench", "cordless drill",
            "fiskars rake", "lighting", "steel chisel"]  # fmt: skip
    barcode = [rng.choice(ps)[1] for _ in range(10)]
    sku = [rng.choice(ps)[0] for _ in range(5)]
    typo = ["hamer", "drlil", "gardn hose", "screwdrivr", "wrnech", "ladedr", "sprinkelr",
            "bosh", "makitta", "wheelbarow"]  # fmt: skip
    return prefix + full + barcode + sku + typo


def bench_search(db: Path, qs: list[str], rounds: int) -> None:
    a = Availability(db)
    raw, _ = open_edge_db(db)
    bare_sql = "SELECT rowid FROM products_fts WHERE products_fts MATCH ? ORDER BY rank LIMIT 20"
    ours_t, bare_t, empty = [], [], []
    for q in qs:  # warm the page cache, as a kiosk that has been running has it
        a.search(q)
    for _ in range(rounds):
        for q in qs:
            t0 = time.perf_counter()
            r = a.search(q)
            ours_t.append((time.perf_counter() - t0) * 1000)
            if not r.hits:
                empty.append(q)
            expr = match_query(words(q))
            t0 = time.perf_counter()
            raw.execute(bare_sql, (expr,)).fetchall()
            bare_t.append((time.perf_counter() - t0) * 1000)
    ours, bare = percentile(ours_t, 95), percentile(bare_t, 95)
    print(f"device search: {len(qs)} queries × {rounds}; ours p50 {statistics.median(ours_t):.2f} "
          f"ms p95 {ours:.2f} ms max {max(ours_t):.2f} ms; bare FTS5 p95 {bare:.2f} ms; "
          f"queries with no hit: {sorted(set(empty)) or 'none'}")  # fmt: skip
    result("inventory_search_p95_ms", ours, "<=", 15)
    result("inventory_search_ratio", ours / bare if bare else float("nan"), "<=", 20)
    a.close()
    raw.close()


def bare_executemany(db: Path, snap: dict[str, Any]) -> float:
    conn, _ = open_edge_db(db)
    # as the inventory sync's connection while it loads
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB:d}")
    for t, cols in (("bp", 8), ("bs", 3), ("bns", 9), ("bn", 4), ("bst", 3)):
        conn.execute(f"DROP TABLE IF EXISTS {t}")
        conn.execute(f"CREATE TABLE {t} ({', '.join(f'c{i}' for i in range(cols))})")
    stores = [tuple(s.values()) for s in snap["nearby_stores"]]
    staff = [tuple(s.values()) for s in snap["staff"]]
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO bp VALUES (?, ?, ?, ?, ?, ?, ?, ?)", snap["products"])
    conn.executemany("INSERT INTO bs VALUES (?, ?, ?)", snap["stock"])
    conn.executemany("INSERT INTO bns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", stores)
    conn.executemany("INSERT INTO bn VALUES (?, ?, ?, ?)", snap["nearby_stock"])
    conn.executemany("INSERT INTO bst VALUES (?, ?, ?)", staff)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    for t in ("bp", "bs", "bns", "bn", "bst"):
        conn.execute(f"DROP TABLE {t}")
    conn.close()
    return elapsed


def _changed(doc: dict[str, Any], share: float, rng: random.Random) -> Snapshot:
    """The snapshot again with ``share`` of the products renamed and all stock redrawn."""
    products = [[*p[:2], p[2] + " V2", *p[3:]] if rng.random() < share else p
                for p in doc["products"]]  # fmt: skip
    stock = [[s[0], rng.randint(0, 40), 3] for s in doc["stock"]]
    return parse_snapshot(json.dumps({**doc, "products": products, "stock": stock}).encode(), STORE)


def bench_swap(db: Path, body: bytes, doc: dict[str, Any], rounds: int) -> None:
    """Each round: a first load into an empty edge.db (a new search index), then a
    refetch with 1 % of the products changed (the live index patched in the swap),
    each ÷ a bare executemany of the same rows in the same file."""
    t0 = time.perf_counter()
    snap = parse_snapshot(body, STORE)
    parse_s = time.perf_counter() - t0
    rng = random.Random(9)
    cold, warm, cold_r, warm_r, bare_s = [], [], [], [], []
    for k in range(rounds):
        path = db.with_name(f"swap{k}.db")
        conn, _ = open_edge_db(path)
        conn.execute("PRAGMA synchronous = NORMAL")
        t0 = time.perf_counter()
        load_snapshot(conn, snap)
        cold.append(time.perf_counter() - t0)
        bare = bare_executemany(path, doc)
        again = _changed(doc, 0.01, rng)
        t0 = time.perf_counter()
        load_snapshot(conn, again)
        warm.append(time.perf_counter() - t0)
        conn.close()
        bare_s.append(bare)
        cold_r.append(cold[-1] / bare)
        warm_r.append(warm[-1] / bare)
    rows = len(snap.products) + len(snap.stock) + len(snap.nearby_stock)
    print(f"device snapshot: {rows} rows, {len(body) / 1e6:.1f} MB; parse+check {parse_s:.2f} s; "
          f"first load+swap {median(cold):.2f} s; refetch (1 % of products changed) "
          f"{median(warm):.2f} s; bare executemany {median(bare_s):.2f} s")  # fmt: skip
    result("inventory_swap_ratio", median(warm_r), "<=", 1.5)
    result("inventory_first_load_ratio", median(cold_r), "<=", 1.5)
    # the last round's file is the one searched and changed next
    conn, _ = open_edge_db(db)
    conn.execute("PRAGMA synchronous = NORMAL")
    load_snapshot(conn, snap)
    conn.close()


def bench_deltas(db: Path, snap: dict[str, Any], n_deltas: int, rng: random.Random) -> None:
    conn, _ = open_edge_db(db)
    conn.execute("PRAGMA synchronous = NORMAL")
    version = conn.execute("SELECT version FROM inventory_state").fetchone()[0]
    ps, nearby = snap["products"], [s["id"] for s in snap["nearby_stores"]]
    deltas = []
    for k in range(n_deltas):
        changes: list[list[Any]] = []
        for _ in range(5000):
            x = rng.random()
            p = rng.choice(ps)
            if x < 0.05:
                changes.append(["p", p[0], p[1], p[2] + " New", *p[3:]])
            elif x < 0.55:
                changes.append(["s", p[0], rng.randint(0, 40), 3])
            else:
                changes.append(["n", rng.choice(nearby), p[0], rng.randint(0, 40), 3])
        deltas.append(Delta(STORE, version + k, version + k + 1, changes_sha256(changes), changes))
    start = time.perf_counter()
    for d in deltas:
        apply_delta(conn, d)
    elapsed = time.perf_counter() - start
    conn.close()
    rate = n_deltas * 5000 / elapsed
    print(f"device deltas: {n_deltas} × 5,000 changes in {elapsed:.2f} s = {rate:,.0f} changes/s")
    result("inventory_delta_changes_s", rate, ">=", 20000)


def main(n_skus: int, rounds: int) -> None:
    rng = random.Random(3)
    doc = catalog(n_skus, rng)
    body = json.dumps(doc).encode()
    with tempfile.TemporaryDirectory(prefix="omk-bench-edge-") as tmp:
        db = Path(tmp) / "edge.db"
        bench_swap(db, body, doc, rounds)
        bench_search(db, queries(doc, rng), 5)
        bench_deltas(db, doc, 4 if n_skus > 10_000 else 1, rng)
