"""``omnikiosk demo``: a broker, central and edge daemons on this machine, with simulated
kiosk traffic, ending with what central recorded.

Everything runs as separate processes, as in a store, so the demo exercises the same
paths as production: kiosk API → outbox → MQTT → central → ack.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

MAIN = Path(importlib.util.find_spec("main").origin)  # type: ignore[union-attr, arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, predicate, timeout: float, procs: list[tuple[str, subprocess.Popen]]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in procs:
            if p.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {p.returncode} while waiting for {what}"
                )
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _healthy(port: int) -> bool:
    import requests

    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def run_demo(
    events: int = 300, devices: int = 2, keep_running: bool = False, workdir: str = "var/demo"
) -> int:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        print("error: mosquitto is not installed (make demo installs it)", file=sys.stderr)
        return 2
    root = Path(workdir).resolve()
    if root.exists():
        shutil.rmtree(root)
    (root / "broker").mkdir(parents=True)
    (root / "logs").mkdir()
    mqtt_port, api_port = _free_port(), _free_port()
    (root / "broker" / "mosquitto.conf").write_text(
        f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {root / 'broker'}/\nmax_queued_messages 100000\nset_tcp_nodelay true\n"
        f"log_dest file {root / 'logs' / 'mosquitto.log'}\n"
        # Started as root, Mosquitto drops to user "mosquitto", which cannot write here.
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    (root / "central.toml").write_text(
        f'[database]\nurl = "sqlite:///{root / "central.db"}"\n'
        f'[broker]\nurl = "mqtt://127.0.0.1:{mqtt_port}"\n'
        f"[api]\nport = {api_port}\n"
    )
    procs: list[tuple[str, subprocess.Popen]] = []

    def spawn(name: str, argv: list[str]) -> subprocess.Popen:
        log = open(root / "logs" / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        procs.append((name, p))
        return p

    py = [sys.executable, str(MAIN)]
    try:
        spawn("mosquitto", [mosquitto, "-c", str(root / "broker" / "mosquitto.conf")])
        _wait("the broker", lambda: _port_open(mqtt_port), 15, procs)
        spawn("central", [*py, "central", "--config", str(root / "central.toml")])
        _wait("central to be healthy", lambda: _healthy(api_port), 60, procs)
        print(f"broker on 127.0.0.1:{mqtt_port}, central API on http://127.0.0.1:{api_port}")
        configs = []
        for i in range(1, devices + 1):
            device = f"s001-k{i}"
            cfg = root / f"{device}.toml"
            cfg.write_text(
                f'[device]\nid = "{device}"\nstore_id = "s001"\ndata_dir = "{root / device}"\n'
                f'[broker]\nurl = "mqtt://127.0.0.1:{mqtt_port}"\n[sync]\nheartbeat_s = 5.0\n'
                f'[clock]\nsource = "assume_synced"\n'
            )
            configs.append(cfg)
            spawn(f"edge-{device}", [*py, "edge", "--config", str(cfg)])
        sims = [
            spawn(
                f"simulate-{cfg.stem}",
                [
                    *py,
                    "edge",
                    "simulate",
                    "--config",
                    str(cfg),
                    "--count",
                    str(events),
                    "--seed",
                    str(n),
                ],
            )
            for n, cfg in enumerate(configs)
        ]
        for p in sims:
            if p.wait(timeout=300) != 0:
                raise RuntimeError(f"a simulator failed; see {root / 'logs'}")
        procs[:] = [(n, p) for n, p in procs if p not in sims]
        total = events * devices
        print(f"kiosks enqueued {total} events; waiting for central to store them …")
        stats_cmd = [
            *py,
            "--log-level",
            "WARNING",
            "central",
            "stats",
            "--config",
            str(root / "central.toml"),
        ]

        def stored() -> bool:
            out = subprocess.run([*stats_cmd, "--json"], capture_output=True, check=True)
            stats = json.loads(out.stdout)
            # Every event stored, and every device has reported its outbox empty.
            return (
                stats["events_stored"] >= total
                and all(d["queue_depth"] == 0 and d["state"] == "online" for d in stats["devices"])
                and len(stats["devices"]) == devices
            )

        _wait(f"{total} events at central", stored, 120, procs)
        print(subprocess.run(stats_cmd, capture_output=True, text=True, check=True).stdout)
        if keep_running:
            print(f"running; logs in {root / 'logs'}. Ctrl-C to stop.")
            while all(p.poll() is None for _, p in procs):
                time.sleep(1)
        return 0
    except (RuntimeError, subprocess.SubprocessError) as err:
        print(f"demo failed: {err}\nlogs: {root / 'logs'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # One at a time, last started first: devices say goodbye while central and the
        # broker are still there to hear it.
        for _, p in reversed(procs):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
