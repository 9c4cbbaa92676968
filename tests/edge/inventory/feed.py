"""A store's feed as central keeps it, for the device tests: a reference model of the
data at every version, delta and manifest payloads, and the snapshot bodies served by a
real HTTP server (``http.server`` in a thread) that checks the device's key."""

from __future__ import annotations

import copy
import json
import random
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge_sync.protocol.store_data import body_sha256, changes_sha256, snapshot_path

STORE = "s042"
KEY = "omk_dev1_secretsecret"
BUILT = "2026-12-01T10:00:00Z"


def ean13(body12: str) -> str:
    digits = [int(c) for c in body12]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return body12 + str(check)


def store_obj(store_id: str = STORE, exact: bool = True, **kw: Any) -> dict[str, Any]:
    return {"id": store_id, "name": f"Store {store_id}", "address": "Main St 1",
            "latitude": 48.1, "longitude": 11.5, "timezone": "Europe/Berlin",
            "show_exact_stock": exact, "stock_as_of": "2026-12-01T09:00:00Z", **kw}  # fmt: skip


def product_row(i: int, name: str | None = None) -> list[Any]:
    return [f"SKU-{i:05d}", ean13(f"400{i:09d}"), name or f"Product {i}", "Brand", "Tools",
            100 + i, "EUR", ""]  # fmt: skip


class Model:
    """The data at one version, keyed the way the device keys it."""

    def __init__(self, n_products: int = 12) -> None:
        self.store = store_obj()
        self.products = {p[0]: p for p in (product_row(i) for i in range(n_products))}
        self.stock = {sku: [sku, i % 7, 2] for i, sku in enumerate(self.products)}
        self.nearby_stores = {
            s: {**store_obj(s, exact=i % 2 == 0), "distance_km": 1.5 + i}
            for i, s in enumerate(("s043", "s044"))
        }
        self.nearby_stock = {(s, sku): [s, sku, 3, 1] for s in self.nearby_stores
                             for sku in list(self.products)[:5]}  # fmt: skip
        self.staff = {"st1": {"staff_id": "st1", "name": "Ann", "pin_hash": "h1"}}

    def apply(self, c: list[Any]) -> None:
        op, r = c[0], c[1:]
        if op == "p":
            self.products[r[0]] = r
        elif op == "s":
            self.stock[r[0]] = r
        elif op == "s-":
            self.stock.pop(r[0], None)
        elif op == "n":
            self.nearby_stock[(r[0], r[1])] = r
        elif op == "n-":
            self.nearby_stock.pop((r[0], r[1]), None)
        elif op == "ns":
            self.nearby_stores[r[0]["id"]] = r[0]
        elif op == "ns-":
            self.nearby_stores.pop(r[0], None)
            self.nearby_stock = {k: v for k, v in self.nearby_stock.items() if k[0] != r[0]}
        elif op == "store":
            self.store = r[0]
        elif op == "staff":
            self.staff[r[0]["staff_id"]] = r[0]
        elif op == "staff-":
            self.staff.pop(r[0], None)

    def view(self) -> dict[str, Any]:
        """What the device's tables must hold."""
        return {
            "store": self.store,
            "products": sorted(self.products.values()),
            "stock": sorted(self.stock.values()),
            "nearby_stores": sorted(
                (s["id"], s["name"], s["distance_km"], s["show_exact_stock"])
                for s in self.nearby_stores.values()
            ),
            "nearby_stock": sorted(self.nearby_stock.values()),
            "staff": sorted((s["staff_id"], s["name"], s["pin_hash"]) for s in self.staff.values()),
        }

    def snapshot(self, version: int) -> dict[str, Any]:
        return {
            "format": 1, "store_id": STORE, "version": version, "built_at": BUILT,
            "store": self.store, "products": list(self.products.values()),
            "stock": list(self.stock.values()), "nearby_stores": list(self.nearby_stores.values()),
            "nearby_stock": list(self.nearby_stock.values()), "staff": list(self.staff.values()),
            "pickups": [],
        }  # fmt: skip


def device_view(db_path: Path) -> tuple[int | None, dict[str, Any]]:
    """The device's version and tables, read in one transaction."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        version, store = conn.execute("SELECT version, store FROM inventory_state").fetchone()
        cols = "sku, barcode, name, brand, category, price_minor, currency, image"
        view = {
            "store": json.loads(store) if store else None,
            "products": sorted(list(r) for r in conn.execute(f"SELECT {cols} FROM products")),
            "stock": sorted(list(r) for r in conn.execute("SELECT * FROM stock_here")),
            "nearby_stores": sorted(
                (r[0], r[1], r[2], bool(r[3]))
                for r in conn.execute(
                    "SELECT store_id, name, distance_km, show_exact_stock FROM nearby_stores"
                )
            ),
            "nearby_stock": sorted(
                [r[1], r[0], r[2], r[3]] for r in conn.execute("SELECT * FROM nearby_stock")
            ),
            "staff": sorted(conn.execute("SELECT staff_id, name, pin_hash FROM staff")),
        }
        # the FTS index holds exactly the products (external content: check it by search)
        fts = conn.execute("SELECT count(*) FROM products_fts WHERE products_fts MATCH 'brand'")
        view["fts_count_ok"] = fts.fetchone()[0] == len(view["products"])
        conn.execute("COMMIT")
        return version, view
    finally:
        conn.close()


class Central:
    """The feed: ``change()`` moves it on a version and returns the delta payload."""

    def __init__(self, seed: int = 0, n_products: int = 12, start: int = 1) -> None:
        self.rng = random.Random(seed)
        self.model = Model(n_products)
        self.version = start
        self.views = {start: copy.deepcopy(self.model.view())}
        self.bodies = {start: self._body()}
        self.deltas: dict[int, bytes] = {}  # to_version → payload
        self._next_sku = n_products

    def _body(self) -> bytes:
        return json.dumps(self.model.snapshot(self.version)).encode()

    def random_changes(self) -> list[list[Any]]:
        rng, out = self.rng, []
        skus = list(self.model.products)
        for _ in range(rng.randint(1, 5)):
            k = rng.random()
            sku = rng.choice(skus)
            if k < 0.35:
                out.append(["s", sku, rng.randint(0, 9), rng.randint(0, 3)])
            elif k < 0.45:
                out.append(["s-", sku])
            elif k < 0.6:
                self._next_sku += 1
                name = rng.choice(["Garden hose", "Claw hammer", "Drill", "Rake"])
                out.append(["p", *product_row(self._next_sku, f"{name} {self._next_sku}")])
            elif k < 0.65:
                out.append(["p", *product_row(int(sku[4:]), f"Renamed {sku}")])
            elif k < 0.8:
                out.append(["n", rng.choice(["s043", "s044"]), sku, rng.randint(0, 9), 1])
            elif k < 0.85:
                out.append(["n-", rng.choice(["s043", "s044"]), sku])
            elif k < 0.9:
                s = rng.choice(["s043", "s044", "s045"])
                out.append(["ns", {**store_obj(s), "distance_km": rng.randint(1, 30) / 2}])
            elif k < 0.93:
                out.append(["ns-", rng.choice(["s043", "s044", "s045"])])
            elif k < 0.96:
                out.append(["staff", {"staff_id": f"st{rng.randint(1, 4)}", "name": "B",
                                      "pin_hash": f"h{rng.randint(0, 99)}"}])  # fmt: skip
            else:
                out.append(["staff-", f"st{rng.randint(1, 4)}"])
        return out

    def change(self, changes: list[list[Any]] | None = None) -> bytes:
        changes = changes if changes is not None else self.random_changes()
        for c in changes:
            self.model.apply(c)
        frm, self.version = self.version, self.version + 1
        self.views[self.version] = copy.deepcopy(self.model.view())
        self.bodies[self.version] = self._body()
        payload = delta_payload(frm, self.version, changes)
        self.deltas[self.version] = payload
        return payload

    def manifest(self, version: int | None = None, **over: Any) -> bytes:
        v = self.version if version is None else version
        body = self.bodies[v]
        doc = {"format": 1, "store_id": STORE, "version": v, "sha256": body_sha256(body),
               "size": len(body), "snapshot_url": snapshot_path(STORE, v), "built_at": BUILT}  # fmt: skip
        doc.update(over)
        return json.dumps(doc).encode()


def delta_payload(frm: int, to: int, changes: list[list[Any]], sha: str | None = None) -> bytes:
    return json.dumps({"format": 1, "store_id": STORE, "from_version": frm, "to_version": to,
                       "sha256": sha or changes_sha256(changes), "changes": changes}).encode()  # fmt: skip


class SnapshotServer:
    """Serves ``central.bodies`` at the snapshot path over real HTTP; ``status`` other
    than 200 answers every request with that; ``tamper`` changes the body served.

    ``stall`` requests from now on go silent after the request is read: with
    ``stall_after`` None before any answer, else after the headers and that many bytes
    of the body. They stay silent until ``close`` (a central that stopped answering)."""

    def __init__(self, central: Central) -> None:
        self.central = central
        self.status = 200
        self.tamper: bytes | None = None
        self.requests: list[str] = []
        self.stall = 0
        self.stall_after: int | None = None
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                parts = urlsplit(self.path)
                want = f"/api/v1/stores/{STORE}/snapshot"
                version = parse_qs(parts.query).get("version", ["x"])[0]
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    self._send(401, b'{"detail": "invalid API key"}')
                elif server.status != 200:
                    self._send(server.status, b'{"detail": "unavailable"}')
                elif parts.path != want or not version.isdigit():
                    self._send(404, b'{"detail": "no such snapshot"}')
                elif int(version) not in server.central.bodies:
                    self._send(404, b'{"detail": "no such version"}')
                else:
                    body = server.central.bodies[int(version)]
                    self._send(200, server.tamper if server.tamper is not None else body)

            def _send(self, code: int, body: bytes) -> None:
                stall, server.stall = server.stall > 0, max(0, server.stall - 1)
                if stall and server.stall_after is None:
                    server._closing.wait(60)
                    return
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if stall:
                    self.wfile.write(body[: server.stall_after])
                    self.wfile.flush()
                    server._closing.wait(60)
                    return
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def fetches(self) -> int:
        return len(self.requests)

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
