"""Per-device, per-type event counters and central's ingest counters.

Both are bumped only in the transaction that stores the events, and only for events
whose insert was new, so a resent batch never counts twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, select

from central_api.store.sql import add_counts
from central_api.store.tables import COUNTER_NAMES, device_type_counts, ingest_counters
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


def read_ingest_counters(conn: Connection) -> dict[str, int]:
    out = dict.fromkeys(COUNTER_NAMES, 0)
    out.update({r.name: r.value for r in conn.execute(select(ingest_counters))})
    return out


def read_device_type_counts(conn: Connection) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    q = select(device_type_counts).order_by(
        device_type_counts.c.device_id, device_type_counts.c.type
    )
    for r in conn.execute(q):
        out.setdefault(r.device_id, {})[r.type] = r.count
    return out
