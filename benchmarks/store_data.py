"""Benchmark of store data: central importing a 100,000-row stock CSV, and the device's
search, snapshot swap and delta apply on a 100,000-SKU catalog (``_edge_store_data``,
whose docstring says what each device figure is).

* stock_import_rows_s_{backend}: rows/s of ``central import-stock``'s work on a
  100,000-row file (50 stores × 2,000 SKUs; decode, parse and check every cell, check
  stores and SKUs in the database, diff against the stored stock, write, one
  transaction), into an empty stock table;
* stock_import_ratio_{backend}: that ÷ the rows/s of a bare ``executemany`` of the same
  rows, already as tuples, into the same table (same indexes and foreign keys), in the
  same run; rounds alternate, each round gives a ratio, the median round is the result;
* stock_reimport_rows_s_{backend}: the same file again with 10 % of the quantities
  changed (every row read and compared, 10,000 updated).

``--quick`` uses 10,000 rows (and a 2,000-SKU catalog on the device). PostgreSQL runs when ``OMK_BENCH_POSTGRES_URL`` (or
``OMK_TEST_POSTGRES_URL``) names a server.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text

from benchmarks import _edge_store_data
from benchmarks._common import median, quick, result
from central_api.domain.inventory.fields import check_digit
from central_api.imports import catalog, stock, stores
from central_api.imports.csvbase import render
from central_api.imports.runner import import_bytes
from central_api.store import make_engine, migrate
from tests.support import pg

STORES, SKUS = 50, 2000
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def files(stores_n: int, skus_n: int) -> tuple[bytes, bytes, list[list[str]]]:
    store_rows = [[f"s{i:03d}", f"Store {i}", f"Street {i}", f"{47 + i / 50:.4f}",
                   f"{10 + i / 25:.4f}", "Europe/Berlin", "false"] for i in range(stores_n)]  # fmt: skip
    products = []
    for i in range(skus_n):
        body = f"400{i:09d}"
        products.append([f"SKU-{i:05d}", body + str(check_digit(body)), f"Product {i}", "Brand",
                         "Garden/Tools", f"{i % 90 + 0.99:.2f}", "EUR", ""])  # fmt: skip
    rng = random.Random(7)
    levels = [[s[0], p[0], str(rng.randint(0, 80)), str(rng.randint(0, 5))]
              for s in store_rows for p in products]  # fmt: skip
    return (
        render(stores.SPEC.required + stores.SPEC.optional, store_rows).encode(),
        render(catalog.SPEC.required + catalog.SPEC.optional, products).encode(),
        levels,
    )


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM stock"))
        conn.execute(text("UPDATE stores SET stock_version = 0, stock_as_of = NULL"))


def bare_executemany(engine: Engine, levels: list[list[str]]) -> float:
    """Seconds for one executemany of the rows as tuples, in one transaction."""
    sqlite = engine.dialect.name == "sqlite"
    at = NOW.isoformat(" ", "microseconds")[:-6] if sqlite else NOW
    rows = [(s, k, int(q), int(t), 1, at, None) for s, k, q, t in levels]
    mark = "?" if sqlite else "%s"
    sql = f"INSERT INTO stock (store_id, sku, quantity, low_threshold, version, updated_at, removed_at) VALUES ({', '.join([mark] * 7)})"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        start = time.perf_counter()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        cur.executemany(sql, rows)
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def ours(engine: Engine, raw: bytes) -> float:
    start = time.perf_counter()
    r = import_bytes(engine, stock.KIND, raw, NOW, dry_run=False)
    elapsed = time.perf_counter() - start
    assert r.rows == len(raw.splitlines()) - 1, r
    return elapsed


def bench(name: str, engine: Engine, n_stores: int, n_skus: int, rounds: int) -> None:
    migrate(engine)
    store_csv, catalog_csv, levels = files(n_stores, n_skus)
    import_bytes(engine, stores.KIND, store_csv, NOW, dry_run=False)
    import_bytes(engine, catalog.KIND, catalog_csv, NOW, dry_run=False)
    raw = render(stock.SPEC.required, levels).encode()
    n = len(levels)
    ratios, rates, bare_rates = [], [], []
    for _ in range(rounds):
        reset(engine)
        t_ours = ours(engine, raw)
        reset(engine)
        t_bare = bare_executemany(engine, levels)
        rates.append(n / t_ours)
        bare_rates.append(n / t_bare)
        ratios.append(t_bare / t_ours)
    # the stored stock now is the bare insert's: import the file once to own it, then
    # change 10 % of the quantities and time the re-import
    reset(engine)
    ours(engine, raw)
    rng = random.Random(11)
    changed = [[s, k, str(int(q) + 1) if rng.random() < 0.1 else q, t] for s, k, q, t in levels]
    t_again = ours(engine, render(stock.SPEC.required, changed).encode())
    print(f"{name}: {n} rows; ours {median(rates):,.0f} rows/s, bare executemany "
          f"{median(bare_rates):,.0f} rows/s, re-import with 10 % changed {n / t_again:,.0f} rows/s")  # fmt: skip
    result(f"stock_import_rows_s_{name}", median(rates), ">=", 20000)
    result(f"stock_import_ratio_{name}", median(ratios), ">=", 0.2)
    result(f"stock_reimport_rows_s_{name}", n / t_again, ">=", 20000)


@contextmanager
def sqlite_engine(tmp: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp / 'central.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


def main() -> int:
    small = quick()
    n_skus = 200 if small else SKUS
    rounds = 1 if small else 3
    with (
        tempfile.TemporaryDirectory(prefix="omk-bench-store-") as tmp,
        sqlite_engine(Path(tmp)) as engine,
    ):
        bench("sqlite", engine, STORES, n_skus, rounds)
    _edge_store_data.main(2000 if small else 100_000, rounds)
    url = os.environ.get("OMK_BENCH_POSTGRES_URL") or os.environ.get("OMK_TEST_POSTGRES_URL")
    if not url:
        print("PostgreSQL: no OMK_BENCH_POSTGRES_URL or OMK_TEST_POSTGRES_URL, skipped")
        return 0
    with pg.temp_schema(url) as schema_url:
        engine = make_engine(schema_url)
        try:
            bench("postgres", engine, STORES, n_skus, rounds)
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
