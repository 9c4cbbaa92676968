"""``python main.py central stats``: what central has ingested, and how each device is doing.

``collect_stats`` returns plain JSON-ready values (timestamps as RFC 3339 strings) so the
CLI's ``--json`` can dump the dict as it is. Events arrive on two channels: ``kiosk``
(MQTT batches from the devices) and ``online`` (``POST /api/v1/events``). Each total is
the sum of its channels, and ``dead_letters`` is the sum of its reasons: both are counted
from the dead-letter rows themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from central_api.domain.fleet.counters import (
    CHANNELS,
    read_dead_letters,
    read_device_type_counts,
    read_ingest_counters,
    read_online_counters,
)
from central_api.domain.fleet.devices import DEFAULT_HEARTBEAT_INTERVAL_S, list_devices
from central_api.store.tables import COUNTER_NAMES
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
    "heartbeat_s",
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
        counters = read_ingest_counters(conn) | read_online_counters(conn)
        dead = read_dead_letters(conn)
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
    channels: dict[str, dict[str, Any]] = {
        # every ingest counter but dead_letters, which is counted from the rows below
        "kiosk": {name: counters[name] for name in COUNTER_NAMES if name != "dead_letters"},
        "online": {
            "requests": counters["online_requests"],
            "events_stored": counters["online_events_stored"],
            "duplicates_ignored": counters["online_duplicates_ignored"],
        },
    }
    by_reason: dict[str, int] = {}
    for channel in CHANNELS:
        reasons = dead[channel]
        channels[channel]["dead_letters"] = sum(reasons.values())
        channels[channel]["dead_letters_by_reason"] = reasons
        for reason, n in reasons.items():
            by_reason[reason] = by_reason.get(reason, 0) + n
    return {
        "generated_at": format_ts(now),
        "events_stored": sum(c["events_stored"] for c in channels.values()),
        "duplicates_ignored": sum(c["duplicates_ignored"] for c in channels.values()),
        "dead_letters": sum(by_reason.values()),
        "dead_letters_by_reason": dict(sorted(by_reason.items())),
        # MQTT messages received (kiosk); online requests are in by_channel
        "messages": counters["messages"],
        "by_channel": channels,
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
    kiosk, online = d["by_channel"]["kiosk"], d["by_channel"]["online"]
    received = kiosk["messages"] + online["requests"]
    rows = [
        ["", "KIOSK", "ONLINE", "TOTAL"],
        ["messages / requests", _n(kiosk["messages"]), _n(online["requests"]), _n(received)],
    ]
    for label, key in (
        ("events stored", "events_stored"),
        ("duplicates ignored", "duplicates_ignored"),
        ("dead letters", "dead_letters"),
    ):
        rows.append([label, _n(kiosk[key]), _n(online[key]), _n(d[key])])
    for reason, n in d["dead_letters_by_reason"].items():
        by_channel = (c["dead_letters_by_reason"].get(reason, 0) for c in (kiosk, online))
        rows.append([f"  {reason}", *(_n(x) for x in by_channel), _n(n)])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        numbers = "".join(f"  {v:>{w}}" for v, w in zip(r[1:], widths[1:], strict=True))
        lines.append(f"  {r[0]:<{widths[0]}}{numbers}".rstrip())
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
