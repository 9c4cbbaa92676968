"""Property: whatever happens to the delta messages (reordered, duplicated, lost), the
device's tables are always exactly central's data at the device's version, and once the
latest manifest is in, the device reaches central's latest version. Lost deltas make it
fetch the snapshot from a real HTTP server."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync.config import CentralSettings
from edge_sync.inventory import load
from edge_sync.inventory.sync import InventorySync

from .feed import STORE, Central, SnapshotServer, device_view

#: what happens to each delta: delivered, delivered twice, held back (delivered later,
#: out of order), or lost; and whether the manifest follows it
fates = st.lists(
    st.tuples(st.sampled_from(["ok", "ok", "dup", "late", "lost"]), st.booleans()),
    min_size=1,
    max_size=25,
)


def _check(sync: InventorySync, db: Path, central: Central) -> None:
    version, view = device_view(db)
    assert version == sync.version
    assert view.pop("fts_count_ok")
    if version is not None:
        assert view == central.views[version], f"device at {version} differs from central"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    plan=fates,
    steps_between=st.integers(1, 4),
    rebuild=st.booleans(),  # every snapshot builds a new FTS index, or patches the live one
)
def test_deltas_stay_consistent_with_central(
    key_file: Path, seed: int, plan: list[tuple[str, bool]], steps_between: int, rebuild: bool
) -> None:
    saved = load.PATCH_MIN, load.PATCH_MAX_SHARE
    if rebuild:
        load.PATCH_MIN, load.PATCH_MAX_SHARE = -1, 0.0
    try:
        _run(key_file, seed, plan, steps_between)
    finally:
        load.PATCH_MIN, load.PATCH_MAX_SHARE = saved


def _run(key_file: Path, seed: int, plan: list[tuple[str, bool]], steps_between: int) -> None:
    central = Central(seed=seed)
    server = SnapshotServer(central)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "edge.db"
        sync = InventorySync(
            STORE,
            db,
            CentralSettings(url=server.url, key_file=str(key_file), retry_min_s=0.01,
                            retry_max_s=0.01),
            gap_grace_s=0.0,
        )  # fmt: skip
        try:
            sync.offer(sync.manifest_topic, central.manifest())
            sync.step()
            assert sync.version == central.version
            held: list[bytes] = []
            for i, (fate, manifest_follows) in enumerate(plan):
                payload = central.change()
                if fate in ("ok", "dup"):
                    sync.offer(sync.delta_topic, payload)
                if fate == "dup":
                    sync.offer(sync.delta_topic, payload)
                if fate == "late":
                    held.append(payload)
                if held and i % steps_between == 0:
                    sync.offer(sync.delta_topic, held.pop(0))  # an older one, now
                if manifest_follows:
                    sync.offer(sync.manifest_topic, central.manifest())
                sync.step()
                _check(sync, db, central)
            for payload in held:
                sync.offer(sync.delta_topic, payload)
            sync.offer(sync.manifest_topic, central.manifest())
            for _ in range(5):
                sync.step()
                _check(sync, db, central)
            assert sync.version == central.version
            lost = any(f == "lost" for f, _ in plan)
            if lost:
                assert server.fetches >= 2  # the first load, and one for the lost delta
        finally:
            sync.stop()
            server.close()
