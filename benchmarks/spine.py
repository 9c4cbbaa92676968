"""Benchmark of the event spine (Step 1): outbox → MQTT → central → ack.

Each figure is a ratio to a bare baseline measured in the same run, because the
machines are shared and noisy:

* enqueue_ratio: durable ``Outbox.enqueue`` (one event per commit) ÷ raw sqlite3
  one-row commits in the same journal and sync mode (WAL, synchronous=FULL);
* uplink_ratio: events acked per second while the daemon drains a full outbox to a
  running central ÷ a bare paho QoS 1 publisher→subscriber pair's messages/s;
* latency_p50_ms / latency_p99_ms: enqueue → central's ack seen on the broker (the
  ack is published after central's commit, so this bounds enqueue → commit) at a
  paced 50 events/s.

``--quick`` uses small sizes (to check that it runs); the figures quoted in notes
come from a full run.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks import _bare_mqtt
from benchmarks._common import Mosquitto, median, percentile, quick, result, spawn, stop, wait
from edge_sync import EdgeClient, Outbox
from edge_sync.config import load_device_config
from edge_sync.protocol import topics

SEARCH = {"query": "rain jacket", "results": 12, "in_stock_results": 9}


def bench_enqueue(tmp: Path, n: int, rounds: int = 5) -> float:
    """Interleaved rounds; the ratio of the medians of the per-round rates."""
    raw_path, ours_path = tmp / "raw.db", tmp / "ours" / "edge.db"
    raw = sqlite3.connect(raw_path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB)")
    ob = Outbox(
        ours_path,
        store_id="s1",
        device_id="s1-k1",
        max_rows=10_000_000,
        max_bytes=2**40,
        clock_source="assume_synced",
    )
    sample = ob.enqueue("product.searched", SEARCH, "sess-1")
    payload = json.dumps(sample.to_wire()).encode()
    raw_rates, our_rates = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            raw.execute("BEGIN")
            raw.execute("INSERT INTO t (payload) VALUES (?)", (payload,))
            raw.execute("COMMIT")
        raw_rates.append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        for _ in range(n):
            ob.enqueue("product.searched", SEARCH, "sess-1")
        our_rates.append(n / (time.perf_counter() - t))
    ob.close()
    raw.close()
    print(
        f"enqueue: ours {median(our_rates):.0f}/s, raw sqlite3 {median(raw_rates):.0f}/s (WAL, synchronous=FULL)"
    )
    return median(our_rates) / median(raw_rates)


def bench_bare_mqtt(broker: Mosquitto, n: int, payload: bytes) -> float:
    topic = "bench/bare"
    sub = subprocess.Popen(
        [sys.executable, _bare_mqtt.__file__, "sub", str(broker.port), topic, str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout is not None
    assert sub.stdout.readline().strip() == "ready"
    _bare_mqtt.publish(broker.port, topic, n, payload)
    line = sub.stdout.readline().split()
    sub.wait(60)
    rate = float(line[1])
    print(
        f"bare paho QoS 1 publisher→subscriber: {rate:.0f} msgs/s ({n} messages of {len(payload)} bytes)"
    )
    return rate


def write_configs(tmp: Path, broker: Mosquitto) -> tuple[Path, Path]:
    dev = tmp / "dev.toml"
    dev.write_text(
        f'[device]\nid = "s1-k1"\nstore_id = "s1"\ndata_dir = "{tmp / "device"}"\n'
        f'[broker]\nurl = "{broker.url}"\n[outbox]\nmax_rows = 10000000\nmax_bytes = 4294967296\n'
        '[clock]\nsource = "assume_synced"\n'
    )
    cen = tmp / "central.toml"
    cen.write_text(
        f'[database]\nurl = "sqlite:///{tmp / "central.db"}"\n[broker]\nurl = "{broker.url}"\n'
        f"[api]\nport = 0\n"
    )
    return dev, cen


def outbox_depth(db: Path) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        con.close()


def central_count(db: Path) -> int:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


class AckWatcher:
    """A raw MQTT observer timestamping each seq when central's ack for it appears."""

    def __init__(self, broker: Mosquitto) -> None:
        self.seen: dict[int, float] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-ack-watch", protocol=mqtt.MQTTv5
        )
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe(topics.ack("s1", "s1-k1"), qos=0)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        ready.wait(10)

    def _on_message(self, _c, _u, msg) -> None:
        now = time.monotonic()
        ack = json.loads(msg.payload)
        with self._lock:
            for lo, hi in ack["acked"]:
                for s in range(lo, hi + 1):
                    self.seen.setdefault(s, now)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def main() -> int:
    small = quick()
    n_enqueue = 300 if small else 2000
    n_uplink = 5_000 if small else 50_000
    paced_s = 5 if small else 30
    tmp = Path(tempfile.mkdtemp(prefix="omk-bench-"))
    result("enqueue_ratio", bench_enqueue(tmp, n_enqueue), ">=", 0.8)

    broker = Mosquitto(tmp / "broker")
    dev_cfg, cen_cfg = write_configs(tmp, broker)
    cfg = load_device_config(dev_cfg)
    procs = []
    try:
        # Fill the outbox while nothing drains it.
        client = EdgeClient.from_config(cfg)
        t = time.perf_counter()
        for i in range(n_uplink):
            ev = client.enqueue("product.searched", SEARCH, f"sess-{i // 10}")
        fill_s = time.perf_counter() - t
        payload = json.dumps(ev.to_wire()).encode()
        print(f"filled the outbox with {n_uplink} events in {fill_s:.1f}s")

        bare = bench_bare_mqtt(broker, n_uplink, payload)

        central = spawn(
            ["central", "--role", "ingest", "--config", str(cen_cfg)], tmp / "central.log"
        )
        procs.append(central)
        wait(lambda: "ingesting from" in (tmp / "central.log").read_text(), 60, "central")
        edge_db = cfg.db_path
        edge = spawn(["edge", "--config", str(dev_cfg)], tmp / "edge.log")
        procs.append(edge)
        wait(lambda: central_count(tmp / "central.db") > 0, 60, "the first event at central", 0.005)
        t0, c0 = time.monotonic(), central_count(tmp / "central.db")
        wait(lambda: outbox_depth(edge_db) == 0, 600, "the outbox to drain", 0.02)
        took = time.monotonic() - t0
        assert central_count(tmp / "central.db") == n_uplink, "central does not hold every event"
        ours = (n_uplink - c0) / took
        print(
            f"uplink: {ours:.0f} events acked/s draining {n_uplink} (central SQLite, synchronous=FULL)"
        )
        result("uplink_ratio", ours / bare, ">=", 1.0)

        # Paced latency with everything running.
        watcher = AckWatcher(broker)
        started: dict[int, float] = {}
        rate, count = 50.0, int(50 * paced_s)
        t_start = time.monotonic()
        for i in range(count):
            delay = t_start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = time.monotonic()
            ev = client.enqueue("product.searched", SEARCH, "sess-paced")
            started[ev.seq] = t
        wait(lambda: all(s in watcher.seen for s in started), 60, "acks for the paced events")
        watcher.close()
        client.close()
        lat = [(watcher.seen[s] - t) * 1000 for s, t in started.items()]
        print(
            f"latency over {count} events at {rate:.0f}/s: p50 {percentile(lat, 50):.1f} ms, "
            f"p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms"
        )
        result("latency_p50_ms", percentile(lat, 50), "<=", 50)
        result("latency_p99_ms", percentile(lat, 99), "<=", 50)
    finally:
        for p in reversed(procs):
            stop(p)
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
