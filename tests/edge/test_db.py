"""edge.db itself: pragmas, migrations, the seq floor, and a disk that is full."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from edge_sync import DiskFull, Outbox, OutboxFull
from edge_sync.db import open_edge_db
from edge_sync.errors import DatabaseTooNew
from edge_sync.schema import MIGRATIONS, now_us

from .conftest import SAMPLES, all_rows


def test_fresh_file_pragmas_schema_and_seq_floor(db_path: Path) -> None:
    before = now_us()
    conn, info = open_edge_db(db_path)
    try:
        assert info is None
        assert db_path.exists()  # the parent directories were created
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"outbox", "outbox_meta", "outbox_evicted", "dead_letter", "sync_state"} <= tables
        floor = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()[0]
        assert before <= floor <= now_us()
        assert floor < 2**62  # plenty of room below the signed 64-bit limit
    finally:
        conn.close()


def test_reopen_keeps_data_and_does_not_migrate_again(db_path: Path) -> None:
    conn, _ = open_edge_db(db_path)
    conn.execute("INSERT INTO sync_state (key, value) VALUES ('k', '1')")
    floor = conn.execute("SELECT seq FROM sqlite_sequence").fetchone()[0]
    conn.close()
    conn, info = open_edge_db(db_path)
    try:
        assert info is None
        assert conn.execute("SELECT value FROM sync_state WHERE key = 'k'").fetchone() == ("1",)
        assert conn.execute("SELECT seq FROM sqlite_sequence").fetchone()[0] == floor
    finally:
        conn.close()


def test_newer_schema_is_refused(db_path: Path) -> None:
    conn, _ = open_edge_db(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(DatabaseTooNew, match="schema version"):
        open_edge_db(db_path)


def test_counters_follow_any_write_path(outbox: Outbox) -> None:
    for t in SAMPLES:
        outbox.enqueue(t, SAMPLES[t])
    conn = outbox._conn
    assert conn is not None
    # a person deleting rows by hand with the sqlite3 shell: the triggers keep the counts
    conn.execute("DELETE FROM outbox WHERE type LIKE 'pickup.%'")
    conn.execute("UPDATE outbox SET priority = 'analytics' WHERE type = 'qr.scanned'")
    st = outbox.stats()
    rows = all_rows(outbox)
    assert st.depth == len(rows) == len(SAMPLES) - 2
    assert st.bytes == sum(len(r.payload) for r in rows)
    crit = [r for r in rows if r.priority == "critical"]
    assert st.by_priority["critical"] == {
        "rows": len(crit),
        "bytes": sum(len(r.payload) for r in crit),
    }


def test_disk_full_is_a_clear_error_and_loses_nothing(outbox: Outbox) -> None:
    accepted = [outbox.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"]) for _ in range(20)]
    conn = outbox._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    # a real SQLite limit: the file may not grow past its current size (SQLITE_FULL)
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskFull) as info:
        for _ in range(1000):
            accepted.append(outbox.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"]))
    err = info.value
    assert isinstance(err, OutboxFull)
    assert err.reason.startswith("the disk is full: ") and "free on the disk holding" in err.reason
    assert "was not stored" in err.reason and err.free_bytes is not None and err.free_bytes > 0
    assert not conn.in_transaction
    # every event that was accepted is there, nothing else, and the counters agree
    rows = all_rows(outbox)
    assert [r.seq for r in rows] == [e.seq for e in accepted]
    assert outbox.stats().depth == len(accepted)
    # acks and status writes that need no new page still work; the next enqueue too once
    # there is room, with a fresh seq
    conn.execute(f"PRAGMA max_page_count = {pages * 100}")
    nxt = outbox.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"])
    assert nxt.seq > accepted[-1].seq
    with closing(sqlite3.connect(outbox.path)) as check:
        assert check.execute("PRAGMA quick_check").fetchone()[0] == "ok"
