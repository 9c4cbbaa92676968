"""``python main.py central stats``: what central has ingested, and how each device is doing.

``collect_stats`` returns plain JSON-ready values (timestamps as RFC 3339 strings) so the
CLI's ``--json`` can dump the dict as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from central_api.domain.counters import read_device_type_counts, read_ingest_counters
from central_api.domain.devices import DEFAULT_HEARTBEAT_INTERVAL_S, list_devices
from central_api.store.tables import dead_letters
from edge_sync.protocol import format_ts, utcnow

_DEVICE_FIELDS = (
    "device_id",
    "store_id",
    "state",
    "health",
    "why",
    "state_changed_at",
    "last_seen_at",
    "last_heartbeat_at",
    "version",
    "config_version",
    "queue_depth",
    "oldest_unsent_age_s",
    "evicted_total",
    "dead_letters_device",
    "disk_free_bytes",
    "clock_synced",
    "db_recovered",
)


def _json_value(v: Any) -> Any:
    return format_ts(v) if isinstance(v, datetime) else v


def collect_stats(
    engine: Engine,
    now: datetime | None = None,
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S,
) -> dict[str, Any]:
    now = now or utcnow()
    with engine.connect() as conn:
        counters = read_ingest_counters(conn)
        by_reason = {
            r.reason: r.n
            for r in conn.execute(
                select(dead_letters.c.reason, func.count().label("n"))
                .group_by(dead_letters.c.reason)
                .order_by(dead_letters.c.reason)
            )
        }
        per_type = read_device_type_counts(conn)
        devs = list_devices(conn, now, heartbeat_interval_s)
    devices_out = []
    for d in devs:
        item = {k: _json_value(d[k]) for k in _DEVICE_FIELDS}
        counts = per_type.get(d["device_id"], {})
        item["events"] = sum(counts.values())
        devices_out.append(item)
    states: dict[str, int] = {}
    for d in devs:
        states[d["health"]] = states.get(d["health"], 0) + 1
    return {
        "generated_at": format_ts(now),
        "events_stored": counters["events_stored"],
        "duplicates_ignored": counters["duplicates_ignored"],
        "dead_letters": counters["dead_letters"],
        "dead_letters_by_reason": by_reason,
        "messages": counters["messages"],
        "devices_by_health": dict(sorted(states.items())),
        "devices": devices_out,
        "events_by_device_type": per_type,
    }


def _n(v: Any) -> str:
    return (
        "-" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
    )


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return ["  " + fmt.format(*headers).rstrip()] + ["  " + fmt.format(*r).rstrip() for r in rows]


def format_stats(d: dict[str, Any]) -> str:
    """A plain-text report of ``collect_stats``' result."""
    lines = [f"central ingest stats at {d['generated_at']}", ""]
    totals = [
        ("messages received", d["messages"]),
        ("events stored", d["events_stored"]),
        ("duplicates ignored", d["duplicates_ignored"]),
        ("dead letters", d["dead_letters"]),
    ]
    width = max(len(_n(v)) for _, v in totals)
    lines += [f"  {label:<20}{_n(v):>{width}}" for label, v in totals]
    for reason, n in d["dead_letters_by_reason"].items():
        lines.append(f"    {reason:<18}{_n(n):>{width}}")
    devs = d["devices"]
    health = ", ".join(f"{n} {h}" for h, n in d["devices_by_health"].items()) or "none"
    lines += ["", f"devices: {len(devs)} ({health})"]
    if devs:
        rows = [
            [
                x["device_id"],
                x["store_id"],
                x["health"],
                x["last_seen_at"] or "-",
                _n(x["queue_depth"]),
                _n(x["events"]),
                x["why"],
            ]
            for x in devs
        ]
        lines += _table(["DEVICE", "STORE", "HEALTH", "LAST SEEN", "QUEUE", "EVENTS", "WHY"], rows)
    per_type = d["events_by_device_type"]
    if per_type:
        lines += ["", "events by device and type:"]
        rows = [
            [device, etype, _n(n)]
            for device, counts in per_type.items()
            for etype, n in counts.items()
        ]
        lines += _table(["DEVICE", "TYPE", "COUNT"], rows)
    return "\n".join(lines) + "\n"
