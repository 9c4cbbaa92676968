"""A corrupt edge.db is moved aside and salvaged; the device keeps going and says so."""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from edge_sync import EdgeClient, Outbox
from edge_sync import db as edge_db
from edge_sync.db import open_edge_db
from edge_sync.errors import DatabaseInUse
from edge_sync.protocol import DeadLetterReason, Rejection
from edge_sync.schema import now_us, set_seq_floor

from .conftest import SAMPLES, all_rows

PAGE = 4096


def corrupt_pages(path: Path, first: int, count: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    garbage = rnd.randbytes(PAGE * count)
    with path.open("r+b") as fh:
        fh.seek(first * PAGE)
        fh.write(garbage)
    return garbage


def populate(make_outbox, n: int, floor: int | None = None) -> tuple[Outbox, dict[int, bytes]]:
    ob = make_outbox(max_rows=n)
    if floor is not None:  # seqs far above the clock, so the floor must come from the old file
        conn = ob._conn
        conn.execute("BEGIN IMMEDIATE")
        set_seq_floor(conn, floor)
        conn.execute("COMMIT")
    types = list(SAMPLES)
    for i in range(n + 5):  # 5 over the cap: the 5 oldest analytics events are evicted
        ob.enqueue(types[i % len(types)], SAMPLES[types[i % len(types)]], f"s{i // 10}")
    return ob, {r.seq: r.payload for r in all_rows(ob)}


def test_corrupt_pages_in_the_middle(make_outbox, db_path: Path) -> None:
    ob, before = populate(make_outbox, 3000, floor=now_us() + 10**13)
    seqs = sorted(before)
    top_seq = ob.max_seq()
    rejected = [
        Rejection(seq=s, reason=DeadLetterReason.UNKNOWN_TYPE, detail="x") for s in seqs[:3]
    ]
    ob.apply_ack([(seqs[3], seqs[9])], rejected)  # 7 acked, 3 dead letters
    for s in seqs[:10]:
        del before[s]
    ob.set_state("last_ack_at", "2026-11-23T10:00:00.000Z")
    evicted = ob.stats().evicted_by_type
    assert sum(evicted.values()) == 5
    ob.close()  # checkpoints: every page is in edge.db itself now
    assert not db_path.with_name("edge.db-wal").exists()

    pages = db_path.stat().st_size // PAGE
    garbage = corrupt_pages(db_path, pages // 2, 4)

    ob = make_outbox()
    info = ob.recovery
    assert info is not None
    quarantined = Path(info.quarantined_path)
    assert re.fullmatch(r"edge\.db\.corrupt-\d{8}T\d{6}Z", quarantined.name)
    assert garbage in quarantined.read_bytes()  # the evidence is kept as it was
    assert info.problem and info.unreadable_ranges >= 1

    after = {r.seq: r.payload for r in all_rows(ob)}
    assert len(after) == info.rows_salvaged
    assert all(before[s] == payload for s, payload in after.items())  # byte for byte
    assert 0.9 * len(before) <= len(after) < len(before)  # four pages' worth lost, no more
    assert min(after) == min(before) and max(after) == max(before)  # read past the damage
    st = ob.stats()
    assert st.depth == len(after) and st.bytes == sum(len(p) for p in after.values())
    assert info.dead_letters_salvaged == 3 and st.dead_letters == 3
    assert st.evicted_by_type == evicted
    assert ob.get_state("last_ack_at") == "2026-11-23T10:00:00.000Z"

    # the seq floor: above everything the old file had handed out, acked or not
    assert info.max_seq_seen == top_seq and info.seq_floor == top_seq
    new = ob.enqueue("pickup.confirmed", SAMPLES["pickup.confirmed"])
    assert new.seq == top_seq + 1

    # the daemon and the kiosk can both see it
    assert ob.get_state("db_recovered") == info.as_dict()
    status = EdgeClient(ob).sync_status()
    assert status["db_recovered"]["quarantined_path"] == str(quarantined)
    ob.close()
    with closing(sqlite3.connect(db_path)) as check:
        assert check.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    again = make_outbox()
    assert again.recovery is None  # a healthy file is left alone


def test_file_that_is_not_sqlite_at_all(make_outbox, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    junk = random.Random(3).randbytes(64 * 1024)
    db_path.write_bytes(junk)
    floor = now_us()
    ob = make_outbox()
    info = ob.recovery
    assert info is not None
    assert "not a database" in info.problem
    assert info.rows_salvaged == 0 and info.max_seq_seen == 0
    assert Path(info.quarantined_path).read_bytes() == junk
    ev = ob.enqueue("session.started", {"trigger": "touch"})
    assert ev.seq > floor
    assert [r.seq for r in all_rows(ob)] == [ev.seq]


def test_events_still_in_the_wal_are_salvaged(make_outbox, db_path: Path, tmp_path: Path) -> None:
    ob, _ = populate(make_outbox, 1500)
    ob.close()  # checkpointed
    ob = make_outbox(max_rows=10**6)
    recent = [ob.enqueue("visit.linked", SAMPLES["visit.linked"]) for _ in range(100)]
    # a crash image: the file and its -wal as they are on disk right now, never checkpointed
    crash = tmp_path / "crash" / "edge.db"
    crash.parent.mkdir()
    shutil.copyfile(db_path, crash)
    shutil.copyfile(db_path.with_name("edge.db-wal"), crash.with_name("edge.db-wal"))
    ob.close()
    corrupt_pages(crash, crash.stat().st_size // PAGE // 2, 3)

    conn, info = open_edge_db(crash)
    try:
        assert info is not None and info.rows_salvaged > 1000
        have = {row[0] for row in conn.execute("SELECT seq FROM outbox")}
        assert {e.seq for e in recent} <= have
    finally:
        conn.close()


def test_corrupt_file_in_use_by_another_process_is_not_moved(
    make_outbox, db_path: Path, child, monkeypatch: pytest.MonkeyPatch
) -> None:
    ob, _ = populate(make_outbox, 500)
    ob.close()
    corrupt_pages(db_path, db_path.stat().st_size // PAGE // 2, 2)
    # another process that has edge.db open holds a shared lock on edge.db.lock
    holder = child(
        "import fcntl, signal, sys\n"
        "fh = open(sys.argv[1], 'a+')\n"
        "fcntl.flock(fh, fcntl.LOCK_SH)\n"
        "print('locked', flush=True)\n"
        "while True:\n"
        "    signal.pause()\n",  # holds the lock until killed
        str(db_path.with_name("edge.db.lock")),
    )
    holder.wait_lines(1)
    monkeypatch.setattr(edge_db, "RECOVERY_WAIT_S", 0.3)
    with pytest.raises(DatabaseInUse, match="another process still has it open"):
        make_outbox()
    assert not list(db_path.parent.glob("edge.db.corrupt-*"))  # nothing moved
    holder.kill9()
    ob = make_outbox()
    assert ob.recovery is not None and ob.recovery.rows_salvaged > 400
    assert json.loads(json.dumps(ob.recovery.as_dict())) == ob.get_state("db_recovered")


def test_two_processes_opening_a_corrupt_file_salvage_it_once(
    make_outbox, db_path: Path, child
) -> None:
    ob, _ = populate(make_outbox, 800)
    ob.close()
    corrupt_pages(db_path, db_path.stat().st_size // PAGE // 2, 2)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from edge_sync import Outbox\n"
        "ob = Outbox(Path(sys.argv[1]), store_id='s042', device_id='s042-k1',\n"
        "            max_rows=10**6, max_bytes=2**30, clock_source='assume_synced')\n"
        "print('salvaged' if ob.recovery else 'clean', ob.stats().depth, flush=True)\n"
        "ob.close()\n"
    )
    kiosk, daemon = child(code, str(db_path)), child(code, str(db_path))
    results = sorted(kiosk.finish(60) + daemon.finish(60))
    assert [r.split()[0] for r in results] == ["clean", "salvaged"]
    assert len({r.split()[1] for r in results}) == 1  # both see the same salvaged outbox
    assert len(list(db_path.parent.glob("edge.db.corrupt-*"))) == 1
