"""Pickup order upserts on ``omk/v1/down/{store}/pickups`` (QoS 1, not retained).

Each change a store must know of (ready, picked up, a handover replaced by an earlier
one, cancelled or no-show after ready) writes a ``pickup_pushes`` row in its own
transaction. ``PickupPublisher`` sends the orders those rows name, one message per store
with every changed order in its current state::

    {"v": 1, "store_id": "s042", "upserts": [
        {"order_id", "revision", "state", "items", "lines": [{"sku", "name", "quantity"}],
         "placed_at", "ready_at", "collect_by", "code_hash", "picked_up_at",
         "initials"}, …]}

and deletes the rows once the broker has acknowledged the message: at least once, and a
device keeps the highest ``revision`` of an order it saw, so a repeat or an older copy
changes nothing. An order whose ``state`` is not ``ready_for_pickup`` leaves the store's
list. The kiosk matches the order by its id and pickup code; the one piece of personal
data is ``initials`` (the customer's, as the shop sent them, e.g. "J.D."; null when it
sent none), for the staff screen at the handover. It is sent only while the order is
``ready_for_pickup``: every later upsert (picked up, cancelled, no-show) carries null,
and the device purges what it held. Erasing the customer deletes the order at central.

Not retained, as the contract says: a retained message holds one payload per topic, and
a store's pickups are many orders changing one at a time. A device subscribes with a
persistent session, so the broker keeps what arrived while it was offline (within the
session's expiry); a new device, or one offline past that, gets every order still due
from the store's snapshot (``pickups_due``), which the snapshot builder includes, and
from the delta of each feed version in which the orders due changed (a device that
loaded an older snapshot just before it first subscribed missed the messages between).
Every central process runs a publisher; two may send the same rows once each.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from edge_sync.protocol import format_ts, topics
from edge_sync.protocol.link import LinkOptions, NotConnected

from ...store.db import write_transaction
from ...store.order_tables import order_records, pickup_pushes
from ..publisher import Publisher
from .model import READY

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
DEFAULT_INTERVAL_S = 2.0
#: orders in one message at most (a message stays well under 1 MiB)
MAX_UPSERTS = 200
ACK_TIMEOUT_S = 10.0


def pickups_topic(store_id: str) -> str:
    return topics.store_down(store_id, "pickups")


def _ts(value: datetime | None) -> str | None:
    return format_ts(value) if value is not None else None


def upsert(row: Any, no_show_days: int) -> dict[str, Any]:
    """One order as a store's kiosks see it."""
    collect_by = row.ready_at + timedelta(days=no_show_days) if row.ready_at else None
    return {
        "order_id": row.id, "revision": row.revision, "state": row.state, "items": row.items,
        "lines": [{"sku": ln["sku"], "name": ln.get("name"), "quantity": ln["quantity"]}
                  for ln in row.lines],
        "placed_at": _ts(row.placed_at), "ready_at": _ts(row.ready_at),
        "collect_by": _ts(collect_by), "code_hash": row.code_hash,
        "picked_up_at": _ts(row.picked_up_at),
        # personal data: only while the store may hand the order over
        "initials": row.customer_initials if row.state == READY else None,
    }  # fmt: skip


def pickups_due(conn: Connection, store_id: str, no_show_days: int) -> list[dict[str, Any]]:
    """Every order ready for pickup in the store, for its snapshot."""
    o = order_records
    rows = conn.execute(
        select(o).where(o.c.store_id == store_id, o.c.state == READY).order_by(o.c.id)
    )
    return [upsert(r, no_show_days) for r in rows]


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def pending(
    engine: Engine, no_show_days: int, limit: int = 1000
) -> tuple[list[int], dict[str, list[bytes]]]:
    """The push rows to send (ids) and, per store, the messages that send them."""
    with engine.connect() as conn, conn.begin():
        p = pickup_pushes
        rows = conn.execute(select(p).order_by(p.c.id).limit(limit)).all()
        if not rows:
            return [], {}
        ids = sorted({r.order_id for r in rows})
        orders = {
            r.id: r for r in conn.execute(select(order_records).where(order_records.c.id.in_(ids)))
        }
    by_store: dict[str, dict[str, Any]] = {}
    for r in rows:
        o = orders.get(r.order_id)
        if o is not None:  # an erased order: nothing to say
            by_store.setdefault(o.store_id, {})[o.id] = upsert(o, no_show_days)
    messages = {}
    for store, found in by_store.items():
        entries = [found[k] for k in sorted(found)]
        messages[store] = [
            encode(
                {"v": PAYLOAD_VERSION, "store_id": store, "upserts": entries[i : i + MAX_UPSERTS]}
            )
            for i in range(0, len(entries), MAX_UPSERTS)
        ]
    return [r.id for r in rows], messages


class PickupPublisher(Publisher):
    """Sends the pending pickup upserts from one central process."""

    name = "central-pickups"
    what = "pickup upserts"
    drain = True

    def __init__(
        self,
        engine: Engine,
        opts: LinkOptions,
        no_show_days: int,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
    ) -> None:
        super().__init__(engine, opts, interval_s)
        self.no_show_days = no_show_days

    @classmethod
    def for_central(
        cls, engine: Engine, broker: Any, no_show_days: int, **kw: Any
    ) -> PickupPublisher:
        return cls(engine, cls.link_options(broker), no_show_days, **kw)

    def sync(self) -> int:
        """Send the pending upserts; once the broker has them all, delete their rows.
        Returns the rows sent (0 while the link is down: they wait in the table)."""
        if not self.link.connected:
            return 0
        with self._lock:
            ids, messages = pending(self.engine, self.no_show_days)
            if not ids:
                return 0
            infos = []
            try:
                for store, bodies in sorted(messages.items()):
                    for body in bodies:
                        infos.append(self.link.publish(pickups_topic(store), body, qos=1))
            except NotConnected:
                log.info("pickup upserts: link down; they are sent when it is back")
                return 0
            deadline = time.monotonic() + ACK_TIMEOUT_S
            while not all(i.is_published() for i in infos):
                if time.monotonic() > deadline or self._stop.is_set():
                    return 0  # kept: sent again next round
                time.sleep(0.005)
            with write_transaction(self.engine) as conn:
                conn.execute(delete(pickup_pushes).where(pickup_pushes.c.id.in_(ids)))
            self.published += len(infos)
            return len(ids)
