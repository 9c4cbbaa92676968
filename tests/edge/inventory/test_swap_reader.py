"""A kiosk process reading all the time never sees a half-applied delta or a half-swapped
snapshot: every delta and every snapshot keeps markers (the marker SKU's stock here and
at a nearby store, and its product name, all equal to the version) and the total of the
other SKUs' stock, so any mix of two versions breaks an invariant the reader checks."""

from __future__ import annotations

from pathlib import Path

from edge_sync.inventory import load
from edge_sync.inventory.sync import InventorySync

from .feed import Central, device_view

MARK = "SKU-00000"
TOTAL_SKUS = 2000

READER = r"""
import sqlite3, sys, time
from pathlib import Path
from edge_sync.inventory.availability import Availability
db, stop = Path(sys.argv[1]), Path(sys.argv[2])
a = Availability(db)
raw = sqlite3.connect(db, isolation_level=None)
reads, versions, total = 0, set(), None
print("ready", flush=True)
while not stop.exists():
    p = a.product("SKU-00000")
    if p is not None and p.data.version is not None:
        v = p.data.version
        near = {n.store_id: n.quantity for n in p.nearby}
        if not (p.here.quantity == v and near.get("s043") == v and p.product.name == f"Marker v{v}"):
            print(f"BAD product page at {v}: {p.here} {near} {p.product.name}", flush=True)
            sys.exit(1)
        versions.add(v)
    raw.execute("BEGIN")
    v = raw.execute("SELECT version FROM inventory_state").fetchone()[0]
    if v is not None:
        q = raw.execute("SELECT quantity FROM stock_here WHERE sku = 'SKU-00000'").fetchone()
        s = raw.execute("SELECT sum(quantity), count(*) FROM stock_here WHERE sku != 'SKU-00000'").fetchone()
        n = raw.execute("SELECT count(*) FROM products").fetchone()[0]
        if q is None or q[0] != v or (total is not None and s != total) or n != s[1] + 1:
            print(f"BAD tables at {v}: marker {q}, others {s} (before {total}), {n} products", flush=True)
            sys.exit(1)
        total = s
    raw.execute("COMMIT")
    reads += 1
print(f"ok {reads} {len(versions)}", flush=True)
"""


def _markers(v: int, rng_moves: list[tuple[str, str]], central: Central) -> list[list]:
    """Changes to version ``v``: the markers, and one unit of stock moved between SKUs."""
    out: list[list] = [
        ["s", MARK, v, 1],
        ["n", "s043", MARK, v, 1],
        ["p", MARK, "4000000000000"[:12] + "0", f"Marker v{v}", "Brand", "Tools", 1, "EUR", ""],
    ]
    qty = {sku: row[1] for sku, row in central.model.stock.items()}
    for a, b in rng_moves:
        if a != b and qty[a] > 0:
            qty[a], qty[b] = qty[a] - 1, qty[b] + 1
            out += [["s", a, qty[a], 2], ["s", b, qty[b], 2]]
    return out


def test_a_reader_in_another_process_never_sees_a_mix(
    make_sync, server, db_path: Path, tmp_path: Path, child
):
    central = Central(seed=5, n_products=TOTAL_SKUS)
    server.central = central
    for c in _markers(1, [], central):
        central.model.apply(c)
    central.bodies[1] = central._body()
    central.views[1] = central.model.view()
    sync = make_sync(gap_grace_s=0.0)
    sync.offer(sync.manifest_topic, central.manifest())
    sync.step()
    assert sync.version == 1
    stop = tmp_path / "stop"
    reader = child(READER, str(db_path), str(stop))
    reader.wait_lines(1)
    skus = sorted(central.model.stock)
    saved = load.PATCH_MIN, load.PATCH_MAX_SHARE
    try:
        _writes(sync, central, skus, saved)
    finally:
        load.PATCH_MIN, load.PATCH_MAX_SHARE = saved
    stop.write_text("")
    lines = reader.finish(timeout=60)
    assert lines[-1].startswith("ok"), lines[-3:]
    _, reads, versions = lines[-1].split()
    assert int(reads) > 50 and int(versions) >= 5, lines[-1]
    assert server.fetches >= 20  # the snapshot swaps happened while it read
    version, view = device_view(db_path)
    assert view.pop("fts_count_ok") and view == central.views[version]


def _writes(
    sync: InventorySync, central: Central, skus: list[str], patch: tuple[int, float]
) -> None:
    rng = central.rng
    for k in range(80):
        moves = [(rng.choice(skus[1:]), rng.choice(skus[1:])) for _ in range(20)]
        payload = central.change(_markers(central.version + 1, moves, central))
        if k % 4 == 3:  # lost: the next manifest makes the device swap in a snapshot
            # every other one with a new FTS index, else the live one patched in the swap
            load.PATCH_MIN, load.PATCH_MAX_SHARE = (-1, 0.0) if k % 8 == 3 else patch
            sync.offer(sync.manifest_topic, central.manifest())
        else:
            sync.offer(sync.delta_topic, payload)
        sync.step()
        assert sync.version == central.version
