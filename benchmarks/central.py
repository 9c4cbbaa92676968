"""Benchmark of central (Step 2): ingest with every effect, and profile reads at size.

* ingest_ratio_sqlite / ingest_ratio_postgres: events/s through a real central process
  (validate, dedup, counters, identity, re-derivation of each touched profile, commit,
  ack) for kiosk traffic where half the sessions are QR-linked with consent, ÷ a bare
  paho QoS 1 subscriber's messages/s on the same broker in the same run; three rounds
  (baseline, SQLite, PostgreSQL each), the median round's ratio;
* explain_p99_ms / journey_p99_ms: ``GET /api/v1/profiles/{id}/score`` and ``/journey``
  through the HTTP app on a SQLite database holding 100,000 profiles and 1,000,000
  ledger rows (plus 1,000,000 events and touchpoints).

``--quick`` uses small sizes. PostgreSQL runs when ``OMK_BENCH_POSTGRES_URL`` (or
``OMK_TEST_POSTGRES_URL``) names a server.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks._common import Mosquitto, median, percentile, quick, result, spawn, stop, wait
from benchmarks._traffic import event_count, kiosk_batches, traffic_codes
from benchmarks.spine import bench_bare_mqtt
from central_api.domain.tokens.keystore import KeyStore
from edge_sync.protocol import topics


def ingest_rate(tmp: Path, broker: Mosquitto, url: str, batches: list[bytes], name: str) -> float:
    cfg = tmp / f"{name}.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n[broker]\nurl = "{broker.url}"\n'
                   f'[ingest]\nclient_id = "bench-{name}"\nshare_group = "{name}"\n'
                   f'[tokens]\nkey_dir = "{tmp / "keys"}"\n')  # fmt: skip
    log = tmp / f"{name}.log"
    proc = spawn(["central", "--role", "ingest", "--config", str(cfg)], log)
    try:
        wait(lambda: "connected to" in log.read_text(), 60, f"central ({name})")
        acked: set[str] = set()
        done = threading.Event()
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-dev-{name}", protocol=mqtt.MQTTv5
        )

        def on_message(_c, _u, msg) -> None:
            acked.add(json.loads(msg.payload)["batch_id"])
            if len(acked) == len(batches):
                done.set()

        ready = threading.Event()
        c.on_message = on_message
        c.on_subscribe = lambda *_: ready.set()
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        c.subscribe("omk/v1/down/+/+/ack", qos=1)
        ready.wait(10)
        t = time.perf_counter()
        for payload in batches:
            doc = json.loads(payload)
            c.publish(topics.events(doc["store_id"], doc["device_id"]), payload, qos=1)
        if not done.wait(900):
            raise RuntimeError(f"{name}: only {len(acked)} of {len(batches)} batches acked")
        took = time.perf_counter() - t
        c.loop_stop()
        c.disconnect()
    finally:
        stop(proc)
    n = event_count(batches)
    print(f"ingest {name}: {n} events with all effects in {took:.1f}s = {n / took:.0f} events/s")
    return n / took


def _ts(d: datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores a UTC datetime in SQLite


def seed(db: Path, n_profiles: int, per_profile: int) -> list[str]:
    """Bulk rows shaped as ingest writes them, straight into a migrated SQLite file."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous=OFF")
    rng = random.Random(7)
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    kinds = [("product.searched", "search", "kiosk.search", 1.0, {"query": "tent", "results": 4, "in_stock_results": 2}),
             ("product.viewed", "browse", "kiosk.product_view", 2.0, {"sku": "SKU-1", "source": "search", "in_stock": True, "stock_qty": 3}),
             ("pickup.confirmed", "pickup", "kiosk.pickup", 10.0, {"order_id": "o-1", "staff_id": "st-1", "items": 1, "method": "qr"})]  # fmt: skip
    pids = [f"p-{i:07d}" for i in range(n_profiles)]
    seq = 0
    with con:
        con.executemany(
            "INSERT INTO profiles (id, created_at, updated_at, status, attributes, grade, score_raw,"
            " score_ref_sum, score_ref_at, rules_version) VALUES (?,?,?,'active','{}','C',?,?,?,'bench')",
            [(p, _ts(t0), _ts(t0), 13.0 * per_profile / 3, 1.0, _ts(t0)) for p in pids],
        )
        con.executemany(
            "INSERT INTO consents (profile_id, purpose, granted, at, event_id) VALUES (?, 'profiling', 1, ?, ?)",
            [(p, _ts(t0), f"c-{p}") for p in pids],
        )
        for chunk in range(0, n_profiles, 5000):
            ev, pe, led, tp = [], [], [], []
            for p in pids[chunk : chunk + 5000]:
                for j in range(per_profile):
                    seq += 1
                    type_, task, rule, pts, data = kinds[j % 3]
                    eid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    at = _ts(t0 + timedelta(minutes=seq % 200000))
                    ev.append(
                        (
                            eid,
                            "s1-k1",
                            "s1",
                            seq,
                            type_,
                            1,
                            at,
                            at,
                            j,
                            "b",
                            1,
                            f"s-{p}",
                            json.dumps(data),
                        )
                    )
                    pe.append((p, eid))
                    led.append((p, eid, rule, "bench", "in_store", pts, at))
                    tp.append((p, eid, at, "kiosk", task, "s1-k1", "s1"))
            con.executemany("INSERT INTO events (id, device_id, store_id, seq, type, v, occurred_at, received_at,"
                            " mono_ns, boot_id, clock_synced, session_id, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", ev)  # fmt: skip
            con.executemany("INSERT INTO profile_events (profile_id, event_id) VALUES (?,?)", pe)
            con.executemany("INSERT INTO score_ledger (profile_id, event_id, rule_id, rules_version, score_group,"
                            " points, occurred_at) VALUES (?,?,?,?,?,?,?)", led)  # fmt: skip
            con.executemany("INSERT INTO touchpoints (profile_id, event_id, occurred_at, channel, task, device_id,"
                            " store_id) VALUES (?,?,?,?,?,?,?)", tp)  # fmt: skip
    rows = con.execute("SELECT count(*) FROM score_ledger").fetchone()[0]
    con.close()
    print(f"seeded {n_profiles} profiles, {rows} ledger rows, {rows} events and touchpoints")
    return pids


def read_latencies(db: Path, pids: list[str], samples: int) -> tuple[list[float], list[float]]:
    from fastapi.testclient import TestClient

    from central_api.api.keys import create_key
    from central_api.app import create_app
    from central_api.store import make_engine

    engine = make_engine(f"sqlite:///{db}")
    key = create_key(engine, "marketer", "bench").key
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(3)
    explain, journey = [], []
    with TestClient(create_app(engine)) as client:
        for _ in range(20):  # warm-up
            client.get(f"/api/v1/profiles/{rng.choice(pids)}/score", headers=headers)
        for _ in range(samples):
            pid = rng.choice(pids)
            t = time.perf_counter()
            r = client.get(f"/api/v1/profiles/{pid}/score", headers=headers)
            explain.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
            t = time.perf_counter()
            r = client.get(f"/api/v1/profiles/{pid}/journey", headers=headers)
            journey.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
    engine.dispose()
    return explain, journey


def pg_url() -> str | None:
    return (
        os.environ.get("OMK_BENCH_POSTGRES_URL") or os.environ.get("OMK_TEST_POSTGRES_URL") or None
    )


def postgres_rate(tmp: Path, broker: Mosquitto, url: str, batches: list[bytes], name: str) -> float:
    schema = f"omk_bench_{uuid.uuid4().hex[:8]}"
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as pgc:
        pgc.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        return ingest_rate(
            tmp, broker, f"{url}{sep}options=-csearch_path%3D{schema}", batches, name
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as pgc:
            pgc.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> int:
    small = quick()
    tmp = Path(tempfile.mkdtemp(prefix="omk-bench-central-"))
    sessions = 600 if small else 6000
    # the links carry check-in codes signed with the key the benchmark's central uses
    keys = KeyStore(tmp / "keys", "shop.example.com")
    keys.ensure()
    codes = traffic_codes(keys.signer())
    batches = kiosk_batches(sessions, batch_size=500, profiles=sessions // 4, codes=codes)
    n = event_count(batches)
    # The machine is shared: baseline and ingest alternate, each round gives one ratio,
    # and the median round is the result.
    rounds = 1 if small else 3
    url = pg_url()
    ratios: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    broker = Mosquitto(tmp / "broker")
    try:
        sample = json.dumps(json.loads(batches[0])["events"][0]).encode()
        for r in range(rounds):
            bare = bench_bare_mqtt(broker, n, sample)
            ours = ingest_rate(
                tmp, broker, f"sqlite:///{tmp / f'ingest{r}.db'}", batches, f"sqlite{r}"
            )
            ratios["sqlite"].append(ours / bare)
            if url:
                ours = postgres_rate(tmp, broker, url, batches, f"postgres{r}")
                ratios["postgres"].append(ours / bare)
        if not url:
            print("PostgreSQL: no OMK_BENCH_POSTGRES_URL or OMK_TEST_POSTGRES_URL, skipped")
    finally:
        broker.stop()
    for name, got in ratios.items():
        if got:
            print(f"ingest ratio {name} by round: {', '.join(f'{x:.3f}' for x in got)}")
            result(f"ingest_ratio_{name}", median(got), ">=", 1.0)

    from central_api.store import make_engine, migrate

    db = tmp / "reads.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    pids = seed(db, 2_000 if small else 100_000, 10)
    explain, journey = read_latencies(db, pids, 100 if small else 500)
    print(f"explain: p50 {percentile(explain, 50):.1f} ms, p99 {percentile(explain, 99):.1f} ms; "
          f"journey: p50 {percentile(journey, 50):.1f} ms, p99 {percentile(journey, 99):.1f} ms")  # fmt: skip
    result("explain_p99_ms", percentile(explain, 99), "<=", 20)
    result("journey_p99_ms", percentile(journey, 99), "<=", 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
