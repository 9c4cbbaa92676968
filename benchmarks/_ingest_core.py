"""Ingest throughput on SQLite: batches of 500 valid events through ``Ingestor.process``.

A profiling aid, not run by ``make bench`` (it prints no RESULT line).
Run: ``python benchmarks/_ingest_core.py [--batches N] [--group M] [--url URL]``.
Prints events/s for the full path (check_batch, insert, effects, devices, counters,
durable commit) and its ratio to a bare baseline from the same run: the same rows
inserted with sqlite3 directly in one multi-row statement per batch, same pragmas, no
validation; and check_batch alone (the protocol's share). CPU-time figures are printed too, since wall time on a shared machine is noisy.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from central_api.ingest import Incoming, Ingestor
from central_api.store import make_engine, migrate
from central_api.store.tables import events
from edge_sync.protocol import check_batch, new_event_id, topics
from edge_sync.protocol.topics import parse_up

BATCH = 500
STORE, DEVICE = "s1", "s1-k1"


def payloads(n_batches: int) -> list[bytes]:
    out, seq = [], 0
    for b in range(n_batches):
        evs = []
        for _ in range(BATCH):
            seq += 1
            evs.append(
                {
                    "id": new_event_id(),
                    "seq": seq,
                    "type": "product.searched",
                    "v": 1,
                    "store_id": STORE,
                    "device_id": DEVICE,
                    "occurred_at": "2026-11-23T10:15:02.118Z",
                    "mono_ns": seq * 1000,
                    "boot_id": "boot-1",
                    "clock_synced": True,
                    "session_id": "sess-1",
                    "data": {"query": "blue shoes", "results": 12, "in_stock_results": 3},
                }
            )
        doc = {"batch_id": f"b{b}", "device_id": DEVICE, "store_id": STORE, "events": evs}
        out.append(json.dumps(doc).encode())
    return out


def run_ingest(url: str, data: list[bytes], group: int) -> tuple[float, float]:
    engine = make_engine(url)
    try:
        migrate(engine)
        ingestor = Ingestor(engine)
        topic = topics.events(STORE, DEVICE)
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(data), group):
            ingestor.process([Incoming(topic, p) for p in data[i : i + group]])
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        engine.dispose()


def run_baseline(path: Path, data: list[bytes]) -> tuple[float, float]:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)  # the same schema and indexes
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    cols = [c.name for c in events.c]
    row = "(" + ",".join("?" * len(cols)) + ")"
    sql = f"INSERT INTO events ({','.join(cols)}) VALUES {','.join([row] * BATCH)} ON CONFLICT DO NOTHING"
    wall, cpu = time.perf_counter(), time.process_time()
    for p in data:
        params: list[object] = []
        for e in json.loads(p)["events"]:
            ts = e["occurred_at"].replace("T", " ").replace("Z", "000")
            e = {**e, "occurred_at": ts, "received_at": ts, "data": json.dumps(e["data"])}
            params.extend(e[c] for c in cols)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, params)
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_validation(data: list[bytes]) -> tuple[float, float]:
    """check_batch alone: the protocol's share of the ingest time."""
    topic = parse_up(topics.events(STORE, DEVICE))
    assert topic is not None
    wall, cpu = time.perf_counter(), time.process_time()
    for p in data:
        check_batch(p, topic)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--group", type=int, default=1, help="messages per process() call")
    ap.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    data = payloads(args.batches)
    n = args.batches * BATCH
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'central.db'}"
        wall, cpu = run_ingest(url, data, args.group)
        base_wall, base_cpu = run_baseline(Path(tmp) / "baseline.db", data)
    val_wall, val_cpu = run_validation(data)
    backend = url.split(":")[0]
    rows = [
        (f"ingest ({backend}, {args.group} msg/commit)", wall, cpu),
        ("bare sqlite3 insert (baseline)", base_wall, base_cpu),
        ("check_batch alone", val_wall, val_cpu),
    ]
    for label, w, c in rows:
        print(f"{label:<36} {n / w:>9,.0f} events/s wall {n / c:>9,.0f} events/s cpu")
    print(f"ratio to baseline: {wall / base_wall:.2f}x (wall), {cpu / base_cpu:.2f}x (cpu)")


if __name__ == "__main__":
    main()
