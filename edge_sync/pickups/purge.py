"""Personal data of pickup orders leaves the device once the order is over.

An order is over when central's upsert says picked up, no-show or cancelled, when it
left the list (``withdrawn``), when it was handed over here, or when its ``collect_by``
has passed. Its lines, initials and code hash are then cleared; a minimal record
(order id, state, when it ended, the staff member who handed it over) stays
``KEEP_DAYS`` so a second scan is still answered "already handed over at … by …", and
is then deleted, with the desk's log of it.

The upsert path clears at once what it learns is over (``orders``); this catches the
rest (a collect-by date passing, records past their time). The sync daemon runs it
after each pickups message and every ``PURGE_INTERVAL_S`` (``Downlink``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..protocol.ids import format_ts, utcnow

KEEP_DAYS = 30
PURGE_INTERVAL_S = 15 * 60.0


@dataclass(frozen=True, slots=True)
class Purged:
    #: orders whose personal data was cleared now
    cleared: int
    #: minimal records (and their log rows) deleted now
    deleted: int


def purge(
    conn: sqlite3.Connection, now: datetime | None = None, keep_days: int = KEEP_DAYS
) -> Purged:
    """Clear and delete what is due. Runs in the caller's transaction (no commit)."""
    stamp = format_ts(now or utcnow())
    cleared = conn.execute(
        """UPDATE pickup_orders SET lines = NULL, initials = NULL, code_hash = NULL,
            purged_at = :now, ended_at = coalesce(ended_at, collect_by, :now)
        WHERE purged_at IS NULL AND (state != 'ready_for_pickup'
            OR handed_over_at IS NOT NULL OR collect_by <= :now)""",
        {"now": stamp},
    ).rowcount
    cutoff = format_ts((now or utcnow()) - timedelta(days=keep_days))
    deleted = conn.execute(
        "DELETE FROM pickup_orders WHERE purged_at IS NOT NULL AND ended_at < ?", (cutoff,)
    ).rowcount
    conn.execute(
        "DELETE FROM pickup_log WHERE at < ? AND order_id NOT IN"
        " (SELECT order_id FROM pickup_orders)",
        (cutoff,),
    )
    return Purged(cleared, deleted)
