"""No-shows: an order ready for pickup for ``[orders] no_show_days`` becomes ``no_show``.

``sweep`` may run in any number of central processes at once and again at any time:
each order is moved in a transaction of its own after taking its lock, and only while
it is still ready and past the cutoff, so two sweepers (or a sweeper and a pickup
arriving) never both change it, and a second sweep finds nothing left to do.
``OrderSweeper`` runs it in the background of every central process;
``omnikiosk central orders sweep`` runs it once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from edge_sync.protocol import utcnow

from ...store.db import write_transaction
from ...store.order_tables import order_records
from .model import READY
from .records import no_show

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 300.0
_BATCH = 500


def sweep(engine: Engine, no_show_days: int, now: datetime | None = None) -> list[str]:
    """Move every order ready since more than ``no_show_days`` before ``now`` to no_show;
    returns the ids this call moved."""
    now = now or utcnow()
    cutoff = now - timedelta(days=no_show_days)
    moved: list[str] = []
    after = ""
    while True:
        o = order_records
        with engine.connect() as conn:
            due = list(
                conn.execute(
                    select(o.c.id)
                    .where(o.c.state == READY, o.c.ready_at < cutoff, o.c.id > after)
                    .order_by(o.c.id)
                    .limit(_BATCH)
                ).scalars()
            )
        for order_id in due:
            with write_transaction(engine) as conn:
                if no_show(conn, order_id, now, cutoff) is not None:
                    moved.append(order_id)
        if len(due) < _BATCH:
            return moved
        after = due[-1]


class OrderSweeper:
    """``sweep`` every ``interval_s`` in a thread; ``on_change`` after a sweep moved any."""

    def __init__(
        self,
        engine: Engine,
        no_show_days: int,
        interval_s: float = DEFAULT_INTERVAL_S,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.no_show_days = no_show_days
        self.interval_s = interval_s
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="central-no-shows", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = sweep(self.engine, self.no_show_days)
            except Exception:
                log.exception("no-show sweep failed; trying again in %.0fs", self.interval_s)
                moved = []
            if moved:
                log.info("orders: %d no-shows (%s)", len(moved), ", ".join(moved[:10]))
                if self.on_change is not None:
                    self.on_change()
            self._stop.wait(self.interval_s)
