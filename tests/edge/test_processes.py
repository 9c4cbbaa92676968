"""Real processes on one edge.db: a crash mid-stream, and a kiosk and a daemon side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_sync import DatabaseBusy

from .conftest import DEVICE, STORE, all_rows

_OPEN = f"""
import sys
from pathlib import Path
from edge_sync import Outbox
ob = Outbox(Path(sys.argv[1]), store_id={STORE!r}, device_id={DEVICE!r},
            max_rows=10**7, max_bytes=2**32, clock_source="assume_synced")
"""

# prints "seq id" only after enqueue returned, i.e. after COMMIT
ENQUEUER = (
    _OPEN
    + """
n = int(sys.argv[2])
i = 0
while n < 0 or i < n:
    kind = ("pickup.confirmed", "product.searched")[i % 2]
    data = ({"order_id": f"o-{i}", "staff_id": "staff1", "items": 1, "method": "qr"}
            if i % 2 == 0 else {"query": f"q{i}", "results": i, "in_stock_results": 0})
    ev = ob.enqueue(kind, data, "sess")
    print(ev.seq, ev.id, flush=True)
    i += 1
ob.close()
"""
)

# fetches, "publishes" and acks what it read, the way the sync daemon does
ACKER = (
    _OPEN
    + """
import time
from edge_sync.protocol import seq_ranges
want, cursor, done = int(sys.argv[2]), 0, 0
deadline = time.monotonic() + 120
while done < want and time.monotonic() < deadline:
    rows = ob.fetch(cursor, 50, 64 * 1024)
    if not rows:
        time.sleep(0.002)
        continue
    seqs = [r.seq for r in rows]
    result = ob.apply_ack(seq_ranges(seqs), [])
    assert result.acked == len(seqs), (result, seqs)
    done += len(seqs)
    cursor = seqs[-1]
    print(" ".join(map(str, seqs)), flush=True)
ob.close()
"""
)


def test_sigkill_mid_stream_loses_no_committed_event_and_reuses_no_seq(
    make_outbox, db_path: Path, child
) -> None:
    proc = child(ENQUEUER, str(db_path), "-1")
    proc.wait_lines(300)
    printed = [line.split() for line in proc.kill9()]
    committed = {int(seq): eid for seq, eid in printed}
    assert len(committed) == len(printed) >= 300

    ob = make_outbox()
    assert ob.recovery is None  # a crash is not corruption
    stored = {r.seq: r for r in all_rows(ob)}
    # every event the child saw committed is there, with the same id
    for seq, eid in committed.items():
        assert seq in stored, f"committed seq {seq} lost"
        assert f'"id":"{eid}"'.encode() in stored[seq].payload
    # at most the one event committed after the last print is extra
    assert len(stored) - len(committed) in (0, 1)
    seqs = sorted(stored)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    nxt = ob.enqueue("session.started", {"trigger": "touch"})
    assert nxt.seq > max(seqs)
    assert ob.stats().depth == len(stored) + 1


def test_kiosk_and_daemon_processes_share_the_file(make_outbox, db_path: Path, child) -> None:
    n = 600
    # both start on a file that does not exist yet: creating the schema must not race
    acker = child(ACKER, str(db_path), str(n))
    enqueuer = child(ENQUEUER, str(db_path), str(n))
    enqueued = [int(line.split()[0]) for line in enqueuer.finish(120)]
    acked = [int(s) for line in acker.finish(120) for s in line.split()]
    assert len(enqueued) == n
    assert sorted(acked) == sorted(enqueued)  # every event was fetched and acked exactly once
    assert acked == sorted(acked)  # in seq order
    ob = make_outbox()
    assert all_rows(ob) == [] and ob.stats().depth == 0 and ob.stats().bytes == 0


def test_write_lock_held_too_long_is_a_clear_error(make_outbox, db_path: Path, child) -> None:
    ob = make_outbox()
    first = ob.enqueue("session.started", {"trigger": "touch"})
    holder = child(
        "import signal, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "signal.pause()\n",  # holds the lock until killed
        str(db_path),
    )
    holder.wait_lines(1)
    assert ob._conn is not None
    ob._conn.execute("PRAGMA busy_timeout = 200")  # instead of waiting the full 10 s
    with pytest.raises(DatabaseBusy, match="stayed locked by another process"):
        ob.enqueue("session.started", {"trigger": "touch"})
    holder.kill9()
    assert ob.enqueue("session.started", {"trigger": "touch"}).seq == first.seq + 1


def test_processes_creating_the_file_at_once(db_path: Path, tmp_path: Path, child) -> None:
    # The first open of a new file switches it to WAL; openers racing for that must wait,
    # not fail. The children start together when the "go" file appears.
    go = tmp_path / "go"
    start_together = (
        "import os, sys, time\n"
        "import edge_sync.outbox\n"  # imported before the start, so the opens line up
        "print('ready', flush=True)\n"
        "deadline = time.monotonic() + 60\n"
        "while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:\n"
        "    time.sleep(0.0005)  # polled: the children must start within a moment\n"
    )
    procs = [child(start_together + ENQUEUER, str(db_path), "3", str(go)) for _ in range(6)]
    for p in procs:
        p.wait_lines(1)
    go.touch()
    lines = [line for p in procs for line in p.finish(60)[1:]]
    seqs = [int(line.split()[0]) for line in lines]
    assert len(seqs) == len(set(seqs)) == 18
