"""Per-device, per-type event counters and central's ingest counters.

Both are bumped only in the transaction that stores the events, and only for events
whose insert was new, so a resent batch never counts twice. Online events (HTTP) have
their own counter names, bumped in the transaction that stores them.

Dead letters are not counted here: ``read_dead_letters`` counts the stored rows, by
reason and channel, so the total cannot drift from what the table holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, case, func, select

from central_api.store.sql import add_counts
from central_api.store.tables import (
    COUNTER_NAMES,
    dead_letters,
    device_type_counts,
    ingest_counters,
)
from edge_sync.protocol import ValidEvent


class DeviceTypeCounts:
    """Ingest effect: ``device_type_counts[device_id, type] += 1`` per new event."""

    def apply(self, conn: Connection, new_events: list[ValidEvent], received_at: datetime) -> None:
        counts = Counter((ve.event.device_id, ve.event.type) for ve in new_events)
        add_counts(
            conn,
            device_type_counts,
            ("device_id", "type"),
            "count",
            ({"device_id": d, "type": t, "count": n} for (d, t), n in counts.items()),
        )


def add_ingest_counters(conn: Connection, deltas: Mapping[str, int]) -> None:
    """Add to ``ingest_counters``; zero deltas are skipped (every worker updates these
    few rows, so each one left out is one row lock fewer)."""
    add_counts(
        conn,
        ingest_counters,
        ("name",),
        "value",
        ({"name": k, "value": v} for k, v in deltas.items() if v),
    )


#: ingest counter names for events that arrived over HTTP (``POST /api/v1/events``)
ONLINE_COUNTER_NAMES = ("online_requests", "online_events_stored", "online_duplicates_ignored")

#: the ``topic`` column of dead letters from ``POST /api/v1/events``; every other dead
#: letter arrived over MQTT
ONLINE_DEAD_LETTER_TOPIC = "http:/api/v1/events"

CHANNELS = ("kiosk", "online")


def count_online_request(conn: Connection, stored: int, duplicates: int) -> None:
    """One ``POST /api/v1/events`` request's events, in the transaction that stored them."""
    add_ingest_counters(
        conn,
        {"online_requests": 1, "online_events_stored": stored,
         "online_duplicates_ignored": duplicates},
    )  # fmt: skip


def read_dead_letters(conn: Connection) -> dict[str, dict[str, int]]:
    """Stored dead-letter rows: ``{channel: {reason: n}}`` for both channels."""
    channel = case(
        (dead_letters.c.topic == ONLINE_DEAD_LETTER_TOPIC, "online"), else_="kiosk"
    ).label("channel")
    q = (
        select(channel, dead_letters.c.reason, func.count().label("n"))
        .group_by(channel, dead_letters.c.reason)
        .order_by(channel, dead_letters.c.reason)
    )
    out: dict[str, dict[str, int]] = {c: {} for c in CHANNELS}
    for r in conn.execute(q):
        out[r.channel][r.reason] = r.n
    return out


def _read_counters(conn: Connection, names: tuple[str, ...]) -> dict[str, int]:
    out = dict.fromkeys(names, 0)
    q = select(ingest_counters).where(ingest_counters.c.name.in_(names))
    out.update({r.name: r.value for r in conn.execute(q)})
    return out


def read_ingest_counters(conn: Connection) -> dict[str, int]:
    """The MQTT ingest's counters (``COUNTER_NAMES``)."""
    return _read_counters(conn, COUNTER_NAMES)


def read_online_counters(conn: Connection) -> dict[str, int]:
    """The counters of ``POST /api/v1/events`` (``ONLINE_COUNTER_NAMES``)."""
    return _read_counters(conn, ONLINE_COUNTER_NAMES)


def read_device_type_counts(conn: Connection) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    q = select(device_type_counts).order_by(
        device_type_counts.c.device_id, device_type_counts.c.type
    )
    for r in conn.execute(q):
        out.setdefault(r.device_id, {})[r.type] = r.count
    return out
