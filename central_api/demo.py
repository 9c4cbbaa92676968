"""``omnikiosk demo``: a broker, central and edge daemons on this machine, simulated
kiosk traffic, then a shop's and an email service's traffic over the HTTP API; it ends
with what a marketer would look at: top profiles, the funnel, the webhooks that fired.

Everything runs as separate processes, as in a store, so the demo exercises the same
paths as production: kiosk API → outbox → MQTT → central → ack, and HTTP → central.
The online traffic and the report are in ``demo_online`` and ``demo_report``; the
store data (stores, catalog, stock), the device keys, the staff PIN and the
click-and-collect orders the kiosks hand over are in ``demo_store``.

The edge daemons fetch their store's snapshot from central's API with their device
keys. Half of each kiosk's orders are ready before the daemons start (they come with
the snapshot), half after the devices are online (they come on the store's pickups
topic), and a restock after that reaches the kiosks as a delta. The simulated staff
member unlocks each kiosk's pickup desk with the PIN and hands the orders over by
scanning their codes; the kiosk's search and product page show what arrived.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from .demo_hooks import HookReceiver
from .demo_kiosk import kiosk_phase
from .demo_online import Api, send_online_traffic
from .demo_report import how_to_section, kiosk_section, marketer_report, traffic_section
from .demo_store import (
    demo_pin,
    ensure_demo_device_key,
    import_demo_data,
    place_ready_orders,
    product_name,
    restock,
    set_demo_staff,
    snapshot_version,
    write_orders_file,
    write_private,
)

MAIN = Path(importlib.util.find_spec("main").origin)  # type: ignore[union-attr, arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


Procs = list[tuple[str, subprocess.Popen]]

#: shop customers who never came to a kiosk, and kiosk profiles who are shop customers too
ONLINE_ONLY_CUSTOMERS = 24
KIOSK_CUSTOMERS = 14
#: the demo devices' store, and the click-and-collect orders waiting there per device
DEMO_STORE = "s001"
PICKUPS_PER_DEVICE = 8
#: who hands the orders over at the demo store's kiosks (the PIN is new each run)
DEMO_STAFF_ID, DEMO_STAFF_NAME = "demo-staff", "Demo Staff"
#: the product the demo restocks (out of stock in s001) and the kiosk looks up
LOOKUP_SKU, RESTOCK_TO = "GW-00001", 12


def _wait(what: str, predicate: Callable[[], Any], timeout: float, procs: Procs) -> None:
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


def _write_configs(root: Path, mqtt_port: int, api_port: int) -> None:
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
        # deliver the demo's webhooks within a second of the crossing
        "[webhooks]\npoll_interval_s = 0.2\nbase_delay_s = 0.5\n"
        # the simulated shoppers' QR codes are signed with this key (``--key-dir``)
        f'[tokens]\nkey_dir = "{root / "keys"}"\npublic_host = "shop.example.com"\n'
    )


def _keys(root: Path) -> dict[str, str]:
    """An API key per role, made as ``central create-key`` makes them."""
    from .api.keys import create_key
    from .store.db import make_engine

    engine = make_engine(f"sqlite:///{root / 'central.db'}")
    try:
        return {role: create_key(engine, role, f"demo {role}").key
                for role in ("admin", "integration", "marketer")}  # fmt: skip
    finally:
        engine.dispose()


def _device_config(root: Path, device: str, mqtt_port: int, api_port: int) -> Path:
    """The device's config; ``[central]`` is where its daemon fetches the store's
    snapshot, with the key ``_store_data`` writes (``retry_min_s``: a fetch refused
    while central builds its first snapshot is tried again soon)."""
    cfg = root / f"{device}.toml"
    cfg.write_text(
        f'[device]\nid = "{device}"\nstore_id = "{DEMO_STORE}"\ndata_dir = "{root / device}"\n'
        f'[broker]\nurl = "mqtt://127.0.0.1:{mqtt_port}"\n[sync]\nheartbeat_s = 5.0\n'
        f'[clock]\nsource = "assume_synced"\n'
        f'[central]\nurl = "http://127.0.0.1:{api_port}"\n'
        f'key_file = "{root / device / "device.key"}"\nretry_min_s = 0.5\n'
    )
    return cfg


def _store_data(root: Path, device_ids: list[str]) -> str:
    """Import the demo retailer's stores, catalog and stock into central's database (as
    ``central import-*`` would) and give each device its store-bound key."""
    from edge_sync.protocol import utcnow

    from .store.db import make_engine

    engine = make_engine(f"sqlite:///{root / 'central.db'}")
    try:
        done = import_demo_data(engine, utcnow())
        for device in device_ids:
            ensure_demo_device_key(engine, DEMO_STORE, root / device / "device.key", device)
    finally:
        engine.dispose()
    return (
        f"store data: imported {done['stores.csv'].rows} stores, "
        f"{done['catalog.csv'].rows} products, {done['stock.csv'].rows} stock rows; "
        f"a {DEMO_STORE} device key for each of {', '.join(device_ids)}"
    )


def _demo_skus() -> list[str]:
    from .demo_store import DEMO_DATA

    rows = (DEMO_DATA / "catalog.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [r.split(",", 1)[0] for r in rows if r]


def _pickups_line(shop: Api, placed: int) -> str:
    got = shop.all_pages("/api/v1/orders", store=DEMO_STORE)
    picked = sum(o["state"] == "picked_up" for o in got)
    conflicts = shop.all_pages("/api/v1/orders/conflicts", store=DEMO_STORE)
    kinds = ", ".join(sorted({c["kind"] for c in conflicts})) or "none"
    return (
        f"click-and-collect in {DEMO_STORE}: {placed} orders made ready, {picked} picked up "
        f"at the kiosks, {len(conflicts)} conflicts ({kinds})"
    )


def run_demo(
    events: int = 300,
    devices: int = 2,
    keep_running: bool = False,
    workdir: str = "var/demo",
    kiosk: str = "script",
) -> int:
    from edge_sync.protocol import utcnow

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
    _write_configs(root, mqtt_port, api_port)
    base = f"http://127.0.0.1:{api_port}"
    procs: Procs = []
    hooks = HookReceiver()

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
        print(f"broker on 127.0.0.1:{mqtt_port}, central API on {base}")
        keys = _keys(root)
        admin, marketer = Api(base, keys["admin"]), Api(base, keys["marketer"])
        hooks.start()
        hook = admin.call("POST", "/api/v1/webhooks", json={"url": hooks.url})
        hooks.secret = hook["secret"]

        configs = [
            _device_config(root, f"s001-k{i}", mqtt_port, api_port) for i in range(1, devices + 1)
        ]
        print(_store_data(root, [cfg.stem for cfg in configs]))
        shop = Api(base, keys["integration"])
        pin = demo_pin()
        set_demo_staff(admin, DEMO_STORE, DEMO_STAFF_ID, DEMO_STAFF_NAME, pin)
        write_private(root / "staff.pin", pin)
        print(
            f"staff PIN for the {DEMO_STORE} kiosks' pickup desk: {pin} "
            f"({DEMO_STAFF_NAME}, staff id {DEMO_STAFF_ID}; central keeps only its hash)"
        )
        skus = _demo_skus()
        # real orders, made ready: each simulated kiosk hands over its own; the first
        # half reach the devices with the store's snapshot, the rest on the pickups topic
        half = PICKUPS_PER_DEVICE // 2
        orders = {
            cfg.stem: place_ready_orders(shop, DEMO_STORE, half, cfg.stem, skus) for cfg in configs
        }
        due = [o["order_id"] for made in orders.values() for o in made]
        got: dict[str, int | None] = {}

        def snapshot_ready() -> bool:
            got["v"] = snapshot_version(shop, DEMO_STORE, DEMO_STAFF_ID, due)
            return got["v"] is not None

        _wait(f"central's {DEMO_STORE} snapshot with the staff and orders", snapshot_ready, 60,
              procs)  # fmt: skip
        for cfg in configs:
            spawn(f"edge-{cfg.stem}", [*py, "edge", "--config", str(cfg)])

        def online() -> bool:
            devs = admin.call("GET", "/api/v1/stats")["devices"]
            return sum(d["state"] == "online" for d in devs) == devices

        _wait("the edge daemons to be online", online, 60, procs)
        for cfg in configs:
            orders[cfg.stem] += place_ready_orders(
                shop, DEMO_STORE, PICKUPS_PER_DEVICE - half, cfg.stem, skus, first=half
            )
        before, after = restock(shop, DEMO_STORE, LOOKUP_SKU, RESTOCK_TO)
        print(
            f"edge daemons online; each fetches {DEMO_STORE}'s snapshot (version {got['v']}: "
            f"catalog, stock, nearby stores, staff, {len(due)} orders due) from {base} with "
            f"its device key; then {len(due)} more orders are made ready (to the kiosks on "
            f"the pickups topic) and {LOOKUP_SKU} is restocked {before} → {after} (a delta)"
        )
        sims = [
            spawn(f"simulate-{cfg.stem}", [*py, "edge", "simulate", "--config", str(cfg),
                                           "--count", str(events), "--seed", str(n),
                                           "--key-dir", str(root / "keys"),
                                           "--orders", str(write_orders_file(
                                               orders[cfg.stem], root / f"{cfg.stem}-orders.json")),
                                           "--staff", DEMO_STAFF_ID,
                                           "--pin-file", str(root / "staff.pin"),
                                           "--report", str(root / f"{cfg.stem}-report.json"),
                                           *(["--lookup", product_name(LOOKUP_SKU)] if n == 0
                                             else [])])
            for n, cfg in enumerate(configs)
        ]  # fmt: skip
        for p in sims:
            if p.wait(timeout=300) != 0:
                raise RuntimeError(f"a simulator failed; see {root / 'logs'}")
        reports = [
            json.loads((root / f"{cfg.stem}-report.json").read_text(encoding="utf-8"))
            for cfg in configs
        ]
        procs[:] = [(n, p) for n, p in procs if p not in sims]
        total = events * devices
        print(f"kiosks enqueued {total} events; waiting for central to store them …")

        def stored() -> bool:
            stats = admin.call("GET", "/api/v1/stats")
            # Every event stored, and every device has reported its outbox empty.
            return (
                stats["by_channel"]["kiosk"]["events_stored"] >= total
                and all(d["queue_depth"] == 0 and d["state"] == "online" for d in stats["devices"])
                and len(stats["devices"]) == devices
            )

        _wait(f"{total} events at central", stored, 120, procs)
        print(_pickups_line(shop, len(configs) * PICKUPS_PER_DEVICE))
        print("\n".join(kiosk_section(reports, DEMO_STAFF_ID)) + "\n")
        kiosk_profiles = sorted(p["id"] for p in marketer.all_pages("/api/v1/profiles"))
        chosen = sorted(random.Random(3).sample(kiosk_profiles,
                                                min(KIOSK_CUSTOMERS, len(kiosk_profiles))))  # fmt: skip
        print(
            f"central holds them ({len(kiosk_profiles)} profiles linked by QR code); the shop "
            f"and the email service now post {len(chosen) + ONLINE_ONLY_CUSTOMERS} customers' "
            "events …"
        )
        online = send_online_traffic(
            Api(base, keys["integration"]), admin, chosen, ONLINE_ONLY_CUSTOMERS, utcnow()
        )

        def settled() -> bool:
            left = admin.all_pages(f"/api/v1/webhooks/{hook['id']}/deliveries")
            return all(d["status"] != "pending" for d in left) and len(hooks.got()) >= sum(
                d["status"] == "delivered" for d in left
            )

        _wait("the webhooks to be delivered", settled, 60, procs)
        stats_cmd = [*py, "--log-level", "WARNING", "central", "stats",
                     "--config", str(root / "central.toml")]  # fmt: skip
        print(subprocess.run(stats_cmd, capture_output=True, text=True, check=True).stdout)
        print("\n".join(traffic_section(total, devices, online)) + "\n")
        seen = dict.fromkeys(kiosk_profiles, "kiosk")
        for survivor, merged in online.merged.items():
            seen[survivor] = seen[merged] = "kiosk + online"
        for p in marketer.all_pages("/api/v1/profiles"):
            seen.setdefault(p["id"], "online")
        print(marketer_report(marketer, admin, hook["id"], hooks.got(), hooks.url, seen))
        if kiosk != "none":
            apis = {"admin": admin, "marketer": marketer, "integration": shop}
            lines = kiosk_phase(
                root, py, configs[0], apis, pin, kiosk, DEMO_STAFF_NAME, _demo_skus(),
                lambda what, pred, timeout: _wait(what, pred, timeout, procs),
            )  # fmt: skip
            print("\n".join(lines) + "\n")
        print("\n".join(how_to_section(base, keys["marketer"], keep_running)))
        if keep_running:
            print(f"\nrunning; logs in {root / 'logs'}. Ctrl-C to stop.")
            while all(p.poll() is None for _, p in procs):
                time.sleep(1)
        return 0
    except (RuntimeError, subprocess.SubprocessError, requests.RequestException) as err:
        print(f"demo failed: {err}\nlogs: {root / 'logs'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        hooks.stop()
        # One at a time, last started first: devices say goodbye while central and the
        # broker are still there to hear it.
        for _, p in reversed(procs):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
