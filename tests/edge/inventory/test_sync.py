"""InventorySync case by case: first load, deltas in and out of order, gaps, checksums,
central down, payloads that are not central's, hooks in the swap transaction."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_sync.config import CentralSettings
from edge_sync.inventory.sync import InventorySync
from edge_sync.protocol.store_data import Snapshot
from tests.support.waiting import wait_for

from .feed import Central, delta_payload, device_view

Make = Callable[..., InventorySync]


def _loaded(make_sync: Make, central: Central, **kw: object) -> InventorySync:
    sync = make_sync(**kw)
    sync.offer(sync.manifest_topic, central.manifest())
    sync.step()
    assert sync.version == central.version
    return sync


def _same(db: Path, central: Central) -> None:
    version, view = device_view(db)
    view.pop("fts_count_ok")
    assert view == central.views[version]


def test_first_manifest_loads_the_snapshot_over_http(make_sync, central, server, db_path):
    sync = _loaded(make_sync, central)
    assert server.requests == [f"/api/v1/stores/s042/snapshot?version={central.version}"]
    _same(db_path, central)
    st = sync.status()
    assert st["version"] == 1 and st["as_of"] == "2026-12-01T09:00:00Z"
    assert st["last_error"] is None and st["applied"] == {"snapshot": 1}


def test_deltas_in_order_and_out_of_order_apply_without_a_snapshot(
    make_sync, central, server, db_path
):
    sync = _loaded(make_sync, central, gap_grace_s=60)
    d2, d3, d4 = central.change(), central.change(), central.change()
    sync.offer(sync.delta_topic, d2)
    sync.step()
    assert sync.version == 2
    sync.offer(sync.delta_topic, d4)  # ahead: waits for 3
    sync.offer(sync.manifest_topic, central.manifest())
    sync.step()
    assert sync.version == 2 and len(sync.buffer) == 1
    _same(db_path, central)
    sync.offer(sync.delta_topic, d3)
    sync.offer(sync.delta_topic, d2)  # a duplicate
    sync.step()
    assert sync.version == 4 and not sync.buffer
    assert sync.ignored["duplicate"] == 1
    assert server.fetches == 1
    _same(db_path, central)


def test_a_gap_the_buffer_cannot_close_means_the_snapshot(make_sync, central, server, db_path):
    sync = _loaded(make_sync, central, gap_grace_s=0.2)
    central.change()  # lost
    d3 = central.change()
    sync.offer(sync.delta_topic, d3)
    sync.offer(sync.manifest_topic, central.manifest())
    due = sync.step()
    assert sync.version == 1 and 0 < due <= 0.2  # given a moment: 2→3 may still come
    wait_for(lambda: sync.step() is not None and sync.version == 3, timeout=5)
    assert server.fetches == 2
    _same(db_path, central)


def test_buffered_deltas_beyond_the_snapshot_are_applied_after_it(make_sync, central, server):
    sync = _loaded(make_sync, central, gap_grace_s=0.0)
    central.change()  # lost
    d3 = central.change()
    manifest3 = central.manifest()
    d4 = central.change()
    sync.offer(sync.delta_topic, d3)
    sync.offer(sync.delta_topic, d4)
    sync.offer(sync.manifest_topic, manifest3)  # central's manifest lags behind its deltas
    sync.step()
    assert sync.version == 4  # snapshot 3, then 3→4 from the buffer
    assert server.requests[-1].endswith("version=3")


def test_a_bad_checksum_fetches_the_snapshot_at_once(make_sync, central, server, db_path, caplog):
    sync = _loaded(make_sync, central, gap_grace_s=60)
    changes = central.random_changes()
    central.change(changes)
    sync.offer(sync.delta_topic, delta_payload(1, 2, changes, sha="0" * 64))
    sync.offer(sync.manifest_topic, central.manifest())
    with caplog.at_level(logging.WARNING):
        sync.step()
    assert "1→2: wrong sha256" in caplog.text
    assert sync.version == 2 and server.fetches == 2
    _same(db_path, central)


@pytest.mark.parametrize(
    "payload, why",
    [
        (b"{not json", "not JSON"),
        (
            json.dumps(
                {
                    "format": 1,
                    "store_id": "s999",
                    "from_version": 1,
                    "to_version": 2,
                    "sha256": "0" * 64,
                    "changes": [],
                }
            ).encode(),
            "for store 's999'",
        ),
        (delta_payload(1, 2, [["s", "SKU-00001", -1, 0]]), "quantity: must be a whole number"),
        (delta_payload(1, 2, [["zap", "x"]]), "must be a list starting with one of"),
    ],
)
def test_bad_deltas_are_logged_counted_and_change_nothing(
    make_sync, central, db_path, caplog, payload, why
):
    sync = _loaded(make_sync, central)
    before = device_view(db_path)
    with caplog.at_level(logging.WARNING):
        assert sync.offer(sync.delta_topic, payload)
        sync.step()
    assert why in caplog.text
    assert sync.ignored["bad_delta"] == 1
    assert device_view(db_path) == before


@pytest.mark.parametrize(
    "over, why",
    [
        ({"store_id": "s999"}, "for store 's999'"),
        ({"sha256": "XYZ"}, "64 lower-case hex digits"),
        ({"snapshot_url": "http://evil/x"}, "must be a path on central"),
        ({"format": 2}, "this device reads 1"),
    ],
)
def test_bad_manifests_are_ignored(make_sync, central, server, db_path, caplog, over, why):
    sync = _loaded(make_sync, central)
    central.change()
    before = device_view(db_path)
    with caplog.at_level(logging.WARNING):
        sync.offer(sync.manifest_topic, central.manifest(**over))
        sync.step()
    assert why in caplog.text and sync.ignored["bad_manifest"] == 1
    assert device_view(db_path) == before and server.fetches == 1


@pytest.mark.parametrize(
    "tamper, why",
    [
        (b'{"format": 1}', "bytes, the manifest says"),
        (None, "sha256"),  # same size, one byte changed
        (b"x", "bytes, the manifest says"),
    ],
)
def test_a_snapshot_that_is_not_the_manifests_keeps_the_old_data(
    make_sync, central, server, db_path, caplog, tamper, why
):
    sync = _loaded(make_sync, central, gap_grace_s=0)
    central.change(), central.change()
    body = central.bodies[central.version]
    server.tamper = tamper if tamper is not None else body.replace(b"Product", b"Pr0duct", 1)
    before = device_view(db_path)
    with caplog.at_level(logging.WARNING):
        sync.offer(sync.manifest_topic, central.manifest())
        sync.step()
    assert why in caplog.text and sync.ignored["bad_snapshot"] == 1
    assert sync.status()["last_error"] and device_view(db_path) == before
    server.tamper = None
    wait_for(lambda: sync.step() is not None and sync.version == 3, timeout=5)
    _same(db_path, central)


def test_a_snapshot_of_another_store_is_refused(make_sync, central, server, db_path, caplog):
    central.bodies[1] = central.bodies[1].replace(b'"store_id": "s042"', b'"store_id": "s999"', 1)
    sync = make_sync()
    with caplog.at_level(logging.WARNING):
        sync.offer(sync.manifest_topic, central.manifest())
        sync.step()
    assert "snapshot: for store 's999', not s042" in caplog.text
    assert sync.version is None and device_view(db_path)[1]["products"] == []


def test_central_down_is_retried_with_backoff_and_then_loads(make_sync, central, server, caplog):
    server.status = 503
    sync = make_sync(central={"retry_min_s": 0.05, "retry_max_s": 0.4})
    sync.offer(sync.manifest_topic, central.manifest())
    with caplog.at_level(logging.WARNING):
        due = sync.step()
        assert sync.version is None and 0 < due <= 0.05
        assert "HTTP 503" in sync.status()["last_error"]
        wait_for(lambda: sync.step() is not None and server.fetches >= 3, timeout=5)
    assert "trying again in" in caplog.text
    server.status = 200
    wait_for(lambda: sync.step() is not None and sync.version == 1, timeout=5)


@pytest.mark.parametrize("after", [None, 100], ids=["no-answer", "body-stops-halfway"])
def test_a_central_that_goes_silent_costs_the_read_timeout_and_the_retry_loads(
    make_sync, central, server, after
):
    # only read_timeout_s may end the stall: the whole fetch could take a minute
    sync = make_sync(central={"timeout_s": 60.0, "read_timeout_s": 0.5})
    server.stall, server.stall_after = 1, after
    sync.offer(sync.manifest_topic, central.manifest())
    started = time.monotonic()
    sync.step()
    took = time.monotonic() - started
    assert sync.version is None and 0.4 < took < 10, took
    assert "timed out" in sync.status()["last_error"], sync.status()["last_error"]
    wait_for(lambda: sync.step() is not None and sync.version == central.version, timeout=10)
    assert server.fetches == 2


def test_read_timeout_s_is_checked_against_timeout_s(key_file):
    base = {"url": "http://central:8000", "key_file": str(key_file)}
    with pytest.raises(ValueError, match="read_timeout_s must be <= timeout_s"):
        CentralSettings(**base, timeout_s=5, read_timeout_s=10)
    with pytest.raises(ValueError, match="greater than 0"):
        CentralSettings(**base, read_timeout_s=0)
    # a config that only shortens timeout_s stays valid: the read timeout is then at most it
    assert CentralSettings(**base, timeout_s=5).read_timeout_s == 15.0


def test_a_wrong_key_says_so(make_sync, central, tmp_path):
    bad = tmp_path / "bad-key"
    bad.write_text("omk_dev1_wrong")
    sync = make_sync(central={"key_file": str(bad)})
    sync.offer(sync.manifest_topic, central.manifest())
    sync.step()
    assert "HTTP 401" in sync.status()["last_error"]
    assert "invalid API key" in sync.status()["last_error"]


def test_a_missing_key_file_says_which(make_sync, central, tmp_path):
    sync = make_sync(central={"key_file": str(tmp_path / "nope")})
    sync.offer(sync.manifest_topic, central.manifest())
    sync.step()
    assert f"central.key_file {tmp_path / 'nope'}: No such file" in sync.status()["last_error"]


def test_hooks_run_inside_the_swap_and_a_failing_hook_keeps_the_old_data(
    make_sync, central, db_path, logged_errors
):
    seen: list[tuple[int, int]] = []

    def hook(conn: sqlite3.Connection, snap: Snapshot) -> None:
        assert conn.in_transaction
        # inside the swap: the new tables are live in this transaction already
        seen.append(
            (snap.version, conn.execute("SELECT version FROM inventory_state").fetchone()[0])
        )

    sync = _loaded(make_sync, central, hooks=[hook], gap_grace_s=0)
    assert seen == [(1, 1)]

    def failing(conn: sqlite3.Connection, snap: Snapshot) -> None:
        raise sqlite3.OperationalError("pickups table is locked")

    sync.hooks.append(failing)
    central.change()
    before = device_view(db_path)
    sync.offer(sync.manifest_topic, central.manifest())
    sync.step()
    assert sync.version == 1 and device_view(db_path) == before
    assert "pickups table is locked" in sync.status()["last_error"]
