"""A whole spine in real processes: Mosquitto, central, an edge daemon, a kiosk simulator.

Tests kill and restart any of them and then check the end state straight from the
databases: exactly N distinct events at central, every effect applied once, and an
empty outbox.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select, text

from central_api.domain.tokens.keystore import KeyStore
from central_api.store.tables import devices
from tests.support.broker import Broker
from tests.support.ports import free_port
from tests.support.procs import Proc
from tests.support.waiting import StopWaiting, wait_for

STORE, DEVICE = "s001", "s001-k1"


def large() -> bool:
    """OMK_FAULT_LARGE=1 runs the fault tests at full size."""
    return os.environ.get("OMK_FAULT_LARGE") == "1"


@dataclass
class Spine:
    tmp: Path
    broker: Broker
    db_url: str
    spawn: Callable[..., Proc]
    device: str = DEVICE
    store: str = STORE
    sync: dict[str, object] = field(default_factory=dict)
    outbox: dict[str, object] = field(default_factory=dict)
    central: Proc | None = None
    edge: Proc | None = None
    api_port: int = 0

    def __post_init__(self) -> None:
        self.api_port = free_port()
        self.device_cfg = self.tmp / f"{self.device}.toml"
        self.central_cfg = self.tmp / "central.toml"
        # central's signing key, made now so that the simulated shoppers' codes are
        # signed with it even before central first starts
        self.key_dir = self.tmp / "keys"
        KeyStore(self.key_dir, "shop.example.com").ensure()
        self.write_configs()
        self._engine = create_engine(self.db_url)

    # -- configs -------------------------------------------------------------------

    def write_configs(self) -> None:
        self.device_cfg.write_text(self.device_toml(self.device))
        self.central_cfg.write_text(
            f'[database]\nurl = "{self.db_url}"\n'
            f'[broker]\nurl = "{self.broker.url}"\nreconnect_min_s = 0.1\nreconnect_max_s = 1.0\n'
            f'[ingest]\nclient_id = "central-{self.tmp.name[-12:]}"\n'
            f"[api]\nport = {self.api_port}\n"
            f'[tokens]\nkey_dir = "{self.key_dir}"\npublish_interval_s = 0.2\n'
        )

    def device_toml(self, device: str, central_key_file: Path | None = None) -> str:
        """A device config of this spine's store; with ``central_key_file``, the device
        also fetches its store's snapshot from this spine's central."""
        sync = {"ack_timeout_s": 2.0, "ack_timeout_max_s": 4.0, "heartbeat_s": 1.0, **self.sync}
        sync_lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in sync.items())
        outbox_lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in self.outbox.items())
        central = (
            f'[central]\nurl = "http://127.0.0.1:{self.api_port}"\n'
            f'key_file = "{central_key_file}"\nretry_min_s = 0.2\nretry_max_s = 1.0\n'
            if central_key_file
            else ""
        )
        return (
            f'[device]\nid = "{device}"\nstore_id = "{self.store}"\n'
            f'data_dir = "{self.tmp / device}"\n'
            f'[broker]\nurl = "{self.broker.url}"\nreconnect_min_s = 0.1\nreconnect_max_s = 1.0\n'
            f"[sync]\n{sync_lines}\n[outbox]\n{outbox_lines}\n"
            f'[clock]\nsource = "assume_synced"\n{central}'
        )

    @property
    def edge_db(self) -> Path:
        return self.tmp / self.device / "edge.db"

    # -- processes -----------------------------------------------------------------

    def start_central(self) -> Proc:
        """Start (or restart) central; with the broker up, return once its ingest
        subscriptions are in place, so that a raw client's publish right after is not
        lost before central has a session on the broker."""
        subscribed = "central-ingest: subscribed"
        before = self.central.log_text().count(subscribed) if self.central else 0
        if self.central is None:
            self.central = self.spawn(
                ["central", "--config", str(self.central_cfg)], name="central"
            )
        else:
            self.central.start()
        self.central.wait_for_log("ingesting from", timeout=60)
        if self.broker.alive:
            self.central.wait_for_log(subscribed, timeout=60, times=before + 1)
        return self.central

    def start_edge(self) -> Proc:
        if self.edge is None:
            self.edge = self.spawn(["edge", "--config", str(self.device_cfg)], name="edge")
        else:
            self.edge.start()
        return self.edge

    def simulate(
        self, count: int, rate: float = 0.0, seed: int = 1, name: str = "simulate"
    ) -> Proc:
        args = [
            "edge",
            "simulate",
            "--config",
            str(self.device_cfg),
            "--count",
            str(count),
            "--seed",
            str(seed),
            "--key-dir",
            str(self.key_dir),
        ]
        if rate:
            args += ["--rate", str(rate)]
        return self.spawn(args, name=name)

    # -- what central has --------------------------------------------------------------

    def central_count(self) -> int:
        with self._engine.connect() as c:
            try:
                return c.execute(text("SELECT count(*) FROM events")).scalar_one()
            except Exception:
                return 0  # not migrated yet

    def central_has(self, event_id: str) -> bool:
        with self._engine.connect() as c:
            return (
                c.execute(text("SELECT 1 FROM events WHERE id = :i"), {"i": event_id}).first()
                is not None
            )

    def central_events(self) -> tuple[int, int, Counter[str]]:
        with self._engine.connect() as c:
            total, distinct = c.execute(
                text("SELECT count(*), count(DISTINCT id) FROM events")
            ).one()
            by_type = Counter(
                dict(c.execute(text("SELECT type, count(*) FROM events GROUP BY type")).all())
            )
        return total, distinct, by_type

    def type_counters(self) -> Counter[str]:
        with self._engine.connect() as c:
            rows = c.execute(
                text("SELECT type, count FROM device_type_counts WHERE device_id = :d"),
                {"d": self.device},
            ).all()
        return Counter(dict(rows))

    def ingest_counter(self, name: str) -> int:
        with self._engine.connect() as c:
            v = c.execute(
                text("SELECT value FROM ingest_counters WHERE name = :n"), {"n": name}
            ).scalar()
        return int(v or 0)

    def device_row(self) -> dict:
        """Through the table definition, so JSON and time columns decode as central's do."""
        query = select(devices).where(devices.c.device_id == self.device)
        with self._engine.connect() as c:
            row = c.execute(query).mappings().first()
        return dict(row) if row else {}

    def dead_letters(self) -> list[dict]:
        with self._engine.connect() as c:
            return [
                dict(r)
                for r in c.execute(text("SELECT * FROM dead_letters ORDER BY id")).mappings()
            ]

    # -- what the device has -------------------------------------------------------------

    def outbox_depth(self) -> int:
        if not self.edge_db.exists():
            return 0
        con = sqlite3.connect(self.edge_db, timeout=10)
        try:
            return con.execute("SELECT count(*) FROM outbox").fetchone()[0]
        finally:
            con.close()

    def outbox_seqs(self) -> set[int]:
        con = sqlite3.connect(self.edge_db, timeout=10)
        try:
            return {r[0] for r in con.execute("SELECT seq FROM outbox")}
        finally:
            con.close()

    # -- the end state every fault test must reach ------------------------------------------------

    def wait_drained(self, expected: int, timeout: float = 120.0) -> None:
        procs = [p for p in (self.central, self.edge) if p is not None]

        def done() -> bool:
            for p in procs:
                if not p.alive:
                    raise StopWaiting(f"{p.describe()} died\n{p.log_tail()}")
            return self.central_count() >= expected and self.outbox_depth() == 0

        try:
            wait_for(
                done,
                timeout=timeout,
                interval=0.1,
                message=f"{expected} events at central and an empty outbox",
            )
        except AssertionError as err:
            tails = "\n".join(p.log_tail(40) for p in procs)
            raise AssertionError(
                f"{err}\ncentral has {self.central_count()}, outbox holds {self.outbox_depth()}\n{tails}"
            ) from None

    def assert_exactly_once(
        self, expected: int, expected_by_type: Counter[str] | None = None
    ) -> None:
        total, distinct, by_type = self.central_events()
        assert total == expected, f"central stored {total} events, expected {expected}"
        assert distinct == expected
        assert self.outbox_depth() == 0
        # Effects applied once: the per-type counters equal what is stored.
        assert self.type_counters() == by_type
        assert self.ingest_counter("events_stored") == expected
        if expected_by_type is not None:
            assert by_type == expected_by_type


def simulated_mix(log_text: str) -> tuple[int, Counter[str]]:
    """Parse the simulator's summary line: ``enqueued N events (…): type n, type n``."""
    line = next(ln for ln in log_text.splitlines() if ln.startswith("enqueued "))
    count = int(line.split()[1])
    mix = Counter(
        {t: int(n) for t, n in (part.rsplit(" ", 1) for part in line.split(": ", 1)[1].split(", "))}
    )
    assert sum(mix.values()) == count
    return count, mix
