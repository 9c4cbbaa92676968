"""The outbox's caps: what makes room for a new event, and what a full outbox says.

Critical events (pickups, identity links, consents, scans) are never evicted: a shopper
or a member of staff saw them succeed. Analytics events (sessions, searches, views) are
evicted oldest-first when the outbox passes its row or byte cap; every eviction is
counted per type in ``outbox_evicted`` and reported in the heartbeat.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

from .errors import OutboxFull, human_size
from .protocol import Priority

# No index on priority: it would cost every enqueue a page write. Eviction instead scans
# in seq order from a point below which no analytics row is left (see Outbox).
_OLDEST_ANALYTICS = (
    "SELECT seq, type, size FROM outbox WHERE seq > ? AND priority = 'analytics' ORDER BY seq"
)
_EVICT = "DELETE FROM outbox WHERE seq > ? AND seq <= ? AND priority = 'analytics'"
COUNT_EVICTED = (
    "INSERT INTO outbox_evicted (type, count) VALUES (?, ?)"
    " ON CONFLICT (type) DO UPDATE SET count = count + excluded.count"
)


@dataclass(frozen=True, slots=True)
class Fill:
    """The outbox's counters as the triggers keep them in ``outbox_meta``."""

    rows: int
    bytes: int
    critical_rows: int
    critical_bytes: int


def room_needed(
    fill: Fill, size: int, priority: str, type: str, max_rows: int, max_bytes: int
) -> tuple[int, int] | None:
    """(rows, bytes) of analytics events to evict so that one more event of ``size`` fits;
    None when an analytics event has to be dropped instead. Raises OutboxFull when a
    critical event cannot fit even with every analytics event gone."""
    need_rows = fill.rows + 1 - max_rows
    need_bytes = fill.bytes + size - max_bytes
    analytics_rows = fill.rows - fill.critical_rows
    if need_rows <= analytics_rows and need_bytes <= fill.bytes - fill.critical_bytes:
        return need_rows, need_bytes
    if priority == Priority.ANALYTICS:
        return None
    full = (
        f"the outbox is full ({fill.rows} events, {human_size(fill.bytes)}; limits {max_rows} events,"
        f" {human_size(max_bytes)})"
    )
    if analytics_rows == 0:
        why = (
            "holds only pickups, links, consents and scans; nothing can be evicted until"
            " central acknowledges them"
        )
    else:
        why = f"evicting all {analytics_rows} analytics events would not make room"
    raise OutboxFull(f"{full} and {why}; event {type!r} was not stored")


def evict_oldest(
    conn: sqlite3.Connection, after_seq: int, need_rows: int, need_bytes: int
) -> tuple[int, int]:
    """Delete analytics rows above ``after_seq`` oldest-first until ``need_rows`` rows and
    ``need_bytes`` bytes are free; count them per type. Returns (evicted, last seq evicted).
    Runs inside the caller's write transaction."""
    freed_rows = freed_bytes = last_seq = 0
    by_type: Counter[str] = Counter()
    cur = conn.execute(_OLDEST_ANALYTICS, (after_seq,))
    try:
        for seq, row_type, row_size in cur:
            freed_rows += 1
            freed_bytes += row_size
            by_type[row_type] += 1
            last_seq = seq
            if freed_rows >= need_rows and freed_bytes >= need_bytes:
                break
    finally:
        cur.close()
    conn.execute(_EVICT, (after_seq, last_seq))
    conn.executemany(COUNT_EVICTED, by_type.items())
    return freed_rows, last_seq
