"""Central's pickup upserts on the device: the highest revision wins, whatever the order."""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from edge_sync.pickups import (
    apply_upserts,
    get_order,
    parse_pickups_message,
    replace_from_delta,
    replace_from_snapshot,
)
from edge_sync.protocol.ids import format_ts
from edge_sync.protocol.store_data import Delta, changes_sha256
from edge_sync.schema import MIGRATIONS
from tests.edge.conftest import STORE

from .helpers import NOW, upsert


def apply(conn: sqlite3.Connection, upserts: list[Any]) -> Any:
    conn.execute("BEGIN IMMEDIATE")
    result = apply_upserts(conn, upserts, NOW)
    conn.execute("COMMIT")
    return result


def test_reordered_and_duplicated_revisions_leave_the_highest(conn):
    rng = random.Random(5)
    states = {1: "ready_for_pickup", 2: "ready_for_pickup", 3: "ready_for_pickup"}
    for trial in range(30):
        oid = f"o-{trial:08d}"
        copies = [upsert(oid, rev, states[rev], items=rev) for rev in (1, 2, 3)]
        msgs = copies + [rng.choice(copies) for _ in range(3)]  # repeats: at least once
        rng.shuffle(msgs)
        for m in msgs:
            apply(conn, [m])
        got = get_order(conn, oid)
        assert (got.revision, got.items) == (3, 3)


def test_a_duplicate_or_older_copy_changes_nothing(conn):
    assert apply(conn, [upsert("o-aaaa1111", 2, initials="A.B.")]).stored == 1
    r = apply(conn, [upsert("o-aaaa1111", 2, initials="X.X."), upsert("o-aaaa1111", 1)])
    assert (r.stored, r.unchanged) == (0, 2)
    assert get_order(conn, "o-aaaa1111").initials == "A.B."


def test_malformed_upserts_are_refused_with_reasons_and_the_rest_kept(conn):
    no_initials = upsert("o-bbbb0002")
    del no_initials["initials"]  # optional: central adds the field later
    r = apply(
        conn,
        [
            upsert("o-bbbb0001"),
            upsert("o-bad", revision=-1),
            upsert("o-bad2", state="shipped"),
            "nonsense",
            upsert("o-bad3", lines=[{"sku": "", "quantity": 1}]),
            upsert("o-bad4", collect_by="next tuesday"),
            no_initials,
        ],
    )
    assert r.stored == 2
    reasons = {i: (oid, why) for i, oid, why in r.refused}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert reasons[1] == ("o-bad", reasons[1][1]) and "revision" in reasons[1][1]
    assert "shipped" in reasons[2][1]
    assert reasons[3][0] is None and "object" in reasons[3][1]
    assert "line 0 sku" in reasons[4][1]
    assert "collect_by" in reasons[5][1]
    assert get_order(conn, "o-bbbb0002").initials is None
    assert get_order(conn, "o-bad") is None


def test_an_order_that_leaves_the_list_keeps_no_personal_data(conn):
    apply(conn, [upsert("o-cccc0001", 1, code_hash="ab" * 16)])
    apply(conn, [upsert("o-cccc0001", 2, "cancelled", code_hash="ab" * 16)])
    row = conn.execute(
        "SELECT state, lines, initials, code_hash, purged_at FROM pickup_orders"
    ).fetchone()
    assert row[:4] == ("cancelled", None, None, None) and row[4] is not None


def test_the_message_is_refused_whole_when_it_is_not_for_this_store():
    good = {"v": 1, "store_id": STORE, "upserts": [upsert("o-1")]}
    assert parse_pickups_message(json.dumps(good).encode(), STORE) == good["upserts"]
    for bad in (
        {**good, "store_id": "s999"},
        {**good, "v": 2},
        {**good, "upserts": {}},
    ):
        with pytest.raises(ValueError):
            parse_pickups_message(json.dumps(bad).encode(), STORE)
    with pytest.raises(ValueError, match="not JSON"):
        parse_pickups_message(b"\xff{", STORE)


@dataclass
class FakeSnapshot:
    pickups: list[Any]
    built_at: str


def test_the_snapshot_hook_runs_in_the_callers_transaction(conn):
    apply(conn, [upsert("o-dddd0001", 5), upsert("o-dddd0002"), upsert("o-dddd0003")])
    conn.execute(
        "UPDATE pickup_orders SET handed_over_at = ?, handed_over_by = 'anna'"
        " WHERE order_id = 'o-dddd0003'",
        (format_ts(NOW),),
    )
    late = upsert("o-dddd0004", ready_at=format_ts(NOW + timedelta(minutes=1)))
    apply(conn, [late])
    snap = FakeSnapshot(
        [upsert("o-dddd0001", 4), upsert("o-dddd0005"), {"order_id": 7}], format_ts(NOW)
    )
    conn.execute("BEGIN IMMEDIATE")
    r = replace_from_snapshot(conn, snap, NOW)
    assert conn.in_transaction  # no commit: the loader's swap commits
    conn.execute("ROLLBACK")
    assert get_order(conn, "o-dddd0005") is None  # rolled back with the caller's swap

    conn.execute("BEGIN IMMEDIATE")
    r = replace_from_snapshot(conn, snap, NOW)
    conn.execute("COMMIT")
    assert (r.stored, r.unchanged, r.withdrawn, len(r.refused)) == (1, 1, 1, 1)
    assert get_order(conn, "o-dddd0001").revision == 5  # a newer message stays
    gone = get_order(conn, "o-dddd0002")  # not in the snapshot: left the list
    assert gone.state == "withdrawn" and gone.lines is None and gone.initials is None
    assert get_order(conn, "o-dddd0003").handed_over  # handed over here: kept
    assert get_order(conn, "o-dddd0004").state == "ready_for_pickup"  # newer than the snapshot


def test_a_delta_that_carries_the_orders_due_is_stored_as_a_snapshot_is(conn):
    """The same rules as the snapshot's list (``replace_due``); a delta without the
    field (nothing changed among the orders due, or an older central) touches none."""
    apply(conn, [upsert("o-eeee0001", 5), upsert("o-eeee0002"), upsert("o-eeee0003")])
    conn.execute(
        "UPDATE pickup_orders SET handed_over_at = ?, handed_over_by = 'anna'"
        " WHERE order_id = 'o-eeee0003'",
        (format_ts(NOW),),
    )
    apply(conn, [upsert("o-eeee0004", ready_at=format_ts(NOW + timedelta(minutes=1)))])
    before = conn.execute("SELECT * FROM pickup_orders ORDER BY order_id").fetchall()
    plain = Delta(STORE, 4, 5, changes_sha256([]), [])
    assert replace_from_delta(conn, plain, NOW) is None
    assert conn.execute("SELECT * FROM pickup_orders ORDER BY order_id").fetchall() == before

    due = [upsert("o-eeee0001", 4), upsert("o-eeee0003"), upsert("o-eeee0005")]
    delta = Delta(STORE, 5, 6, changes_sha256([]), [], due, format_ts(NOW))
    conn.execute("BEGIN IMMEDIATE")
    r = replace_from_delta(conn, delta, NOW)
    conn.execute("COMMIT")
    assert r is not None and (r.stored, r.unchanged, r.withdrawn) == (1, 2, 1)
    assert get_order(conn, "o-eeee0001").revision == 5  # a newer message stays
    assert get_order(conn, "o-eeee0002").state == "withdrawn"  # left the list
    assert get_order(conn, "o-eeee0003").handed_over  # listed again: still handed over
    assert get_order(conn, "o-eeee0004").state == "ready_for_pickup"  # newer than the delta
    assert get_order(conn, "o-eeee0005").state == "ready_for_pickup"
    conn.execute("BEGIN IMMEDIATE")
    again = replace_from_delta(conn, delta, NOW)
    conn.execute("COMMIT")
    assert again is not None and (again.stored, again.unchanged, again.withdrawn) == (0, 3, 0)


def test_pickups_have_their_own_migration(conn):
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"pickup_orders", "pickup_pin_attempts", "pickup_log"} <= tables
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert MIGRATIONS[-1].__name__ == "_m5_pickups"
