"""The outbox wakes the daemon after each commit; with nobody listening, nothing breaks."""

from __future__ import annotations

import threading

from edge_sync import Outbox
from edge_sync.nudge import NudgeListener
from tests.support.waiting import wait_for

SEARCH = {"query": "tent", "results": 1, "in_stock_results": 1}


def test_enqueue_nudges_the_listener_and_survives_without_one(tmp_path):
    db = tmp_path / "edge.db"
    with Outbox(db, store_id="s1", device_id="s1-k1", max_rows=100, max_bytes=10**7) as ob:
        ob.enqueue("product.searched", SEARCH)  # nobody listening: stored all the same
        heard = threading.Event()
        listener = NudgeListener(db, heard.set)
        assert listener.active
        listener.start()
        try:
            ob.enqueue("product.searched", SEARCH)
            wait_for(heard.is_set, timeout=5, message="the nudge")
            # A second daemon on the same file cannot take the address (it would also fail the lock).
            assert not NudgeListener(db, lambda: None).active
            # Another database has its own address.
            other = NudgeListener(tmp_path / "other.db", lambda: None)
            assert other.active
            other.close()
        finally:
            listener.close()
        assert ob.stats().depth == 2
