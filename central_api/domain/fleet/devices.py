"""What central knows about each device: online/offline, last contact, queue health.

Signals arrive out of order (QoS 0 heartbeats, several ingest workers, retained status
messages replayed on resubscribe), so each update is guarded by the central receive time
of the newest signal of its kind already applied: an older signal never overwrites a
newer one, and a stale last will cannot mark a device offline after a newer heartbeat.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from central_api.store.sql import clean_text, insert_for
from central_api.store.tables import devices
from edge_sync.protocol import Heartbeat, Status
from edge_sync.protocol.envelope import MAX_DB_RECOVERED_BYTES

#: for a device that has not reported its own ``heartbeat_s``
DEFAULT_HEARTBEAT_INTERVAL_S = 60.0
#: a device is "silent" after this many missed heartbeat intervals
SILENT_AFTER_INTERVALS = 3
_TEXT_LIMIT = 200


@dataclass(slots=True)
class DeviceSignals:
    """Everything one group of messages says about one device."""

    store_id: str
    first_at: datetime | None = None
    #: newest time the device itself was heard from
    seen_at: datetime | None = None
    statuses: list[tuple[datetime, Status]] = field(default_factory=list)
    heartbeats: list[tuple[datetime, Heartbeat]] = field(default_factory=list)

    def touch(self, at: datetime, seen: bool = True) -> None:
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        if seen:
            self.seen_at = at if self.seen_at is None else max(self.seen_at, at)

    def absorb(self, later: DeviceSignals) -> None:
        """Fold in what a later group of messages says about the same device."""
        self.store_id = later.store_id
        if later.first_at is not None:
            self.touch(later.first_at, seen=False)
        if later.seen_at is not None:
            self.touch(later.seen_at)
        self.statuses += later.statuses
        self.heartbeats += later.heartbeats


def apply_signals(conn: Connection, signals: Mapping[str, DeviceSignals]) -> None:
    """Create missing device rows and fold the signals in, one device at a time in
    device_id order (the same lock order in every worker)."""
    if not signals:
        return
    ids = sorted(signals)
    conn.execute(
        insert_for(conn, devices).on_conflict_do_nothing(index_elements=["device_id"]),
        [
            {
                "device_id": d,
                "store_id": signals[d].store_id,
                "state": "unknown",
                "first_seen_at": signals[d].first_at,
            }
            for d in ids
        ],
    )
    q = select(devices).where(devices.c.device_id.in_(ids)).order_by(devices.c.device_id)
    for row in conn.execute(q.with_for_update()).mappings().all():
        sig = signals[row["device_id"]]
        new = dict(row)
        new["store_id"] = sig.store_id
        timeline: list[tuple[datetime, int, Status | Heartbeat]] = [
            (at, 0, st) for at, st in sig.statuses
        ] + [(at, 1, hb) for at, hb in sig.heartbeats]
        for at, _, item in sorted(timeline, key=lambda t: (t[0], t[1])):
            if isinstance(item, Status):
                _fold_status(new, at, item)
            else:
                _fold_heartbeat(new, at, item)
        if sig.seen_at is not None and (
            new["last_seen_at"] is None or sig.seen_at > new["last_seen_at"]
        ):
            new["last_seen_at"] = sig.seen_at
        changes = {k: v for k, v in new.items() if v != row[k]}
        if changes:
            conn.execute(
                update(devices).where(devices.c.device_id == row["device_id"]).values(changes)
            )


def _text(value: str | None) -> str | None:
    return None if value is None else clean_text(value, _TEXT_LIMIT)


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _set_state(row: dict[str, Any], state: str, at: datetime, reason: str | None) -> None:
    if row["state"] != state:
        row["state"] = state
        row["state_changed_at"] = at
    row["state_reason"] = reason


def _fold_versions(row: dict[str, Any], msg: Status | Heartbeat) -> None:
    """The software, config and boot a status or heartbeat names; a field it leaves out
    (a last will carries only the state) keeps what the row had."""
    if msg.version is not None:
        row["version"] = _text(msg.version)
    if msg.config_version is not None:
        row["config_version"] = msg.config_version
    if msg.boot_id is not None:
        row["boot_id"] = _text(msg.boot_id)


def _fold_status(row: dict[str, Any], at: datetime, st: Status) -> None:
    if row["last_status_at"] is not None and at < row["last_status_at"]:
        return  # an older status than one already applied
    row["last_status_at"] = at
    # A heartbeat received after this status is newer news about the connection.
    if row["last_heartbeat_at"] is None or at >= row["last_heartbeat_at"]:
        _set_state(row, st.state, at, _text(st.reason))
    # A status updates the fields it carries (a last will carries only the state).
    _fold_versions(row, st)
    if st.db_recovered is not None:
        row["db_recovered"] = st.db_recovered


def _fold_heartbeat(row: dict[str, Any], at: datetime, hb: Heartbeat) -> None:
    if row["last_heartbeat_at"] is not None and at < row["last_heartbeat_at"]:
        return
    row.update(
        last_heartbeat_at=at,
        queue_depth=hb.queue_depth,
        queue_bytes=hb.queue_bytes,
        oldest_unsent_age_s=_finite(hb.oldest_unsent_age_s),
        evicted_total=hb.evicted_total,
        dead_letters_device=hb.dead_letters,
        disk_free_bytes=hb.disk_free_bytes,
        clock_synced=hb.clock_synced,
        inflight_batches=hb.inflight_batches,
        uptime_s=_finite(hb.uptime_s),
    )
    _fold_versions(row, hb)
    if hb.heartbeat_s is not None:
        row["heartbeat_s"] = hb.heartbeat_s
    # Only a device that is connected sends heartbeats; but not one older than the
    # latest status (a heartbeat still in flight when the last will was published).
    if row["state"] != "online" and (row["last_status_at"] is None or at > row["last_status_at"]):
        _set_state(row, "online", at, "heartbeat received")


def record_status(
    conn: Connection, store_id: str, device_id: str, status: Status, at: datetime
) -> None:
    sig = DeviceSignals(store_id, statuses=[(at, status)])
    sig.touch(at, seen=status.state == "online")
    apply_signals(conn, {device_id: sig})


def record_heartbeat(
    conn: Connection, store_id: str, device_id: str, hb: Heartbeat, at: datetime
) -> None:
    sig = DeviceSignals(store_id, heartbeats=[(at, hb)])
    sig.touch(at)
    apply_signals(conn, {device_id: sig})


def record_seen(conn: Connection, store_id: str, device_id: str, at: datetime) -> None:
    sig = DeviceSignals(store_id)
    sig.touch(at)
    apply_signals(conn, {device_id: sig})


def list_devices(
    conn: Connection, now: datetime, heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S
) -> list[dict[str, Any]]:
    """Every device with its stored fields plus ``silent``, ``silent_for_s``, ``health``
    (online | silent | offline | unknown) and ``why`` — a one-line explanation for IT.

    ``silent``: the device says it is online, but nothing (heartbeat or message) has
    arrived for more than ``SILENT_AFTER_INTERVALS`` of its heartbeat intervals (the
    ``heartbeat_s`` it reports; ``heartbeat_interval_s`` for one that has reported none):
    a frozen daemon, or a half-open connection the broker has not noticed yet.
    """
    out = []
    for row in conn.execute(
        select(devices).order_by(devices.c.store_id, devices.c.device_id)
    ).mappings():
        d = dict(row)
        limit = SILENT_AFTER_INTERVALS * (d["heartbeat_s"] or heartbeat_interval_s)
        contact = [
            t for t in (d["last_seen_at"], d["last_heartbeat_at"], d["state_changed_at"]) if t
        ]
        last_contact = max(contact) if contact else None
        quiet_s = (now - last_contact).total_seconds() if last_contact else None
        silent = d["state"] == "online" and (quiet_s is None or quiet_s > limit)
        d["last_contact_at"] = last_contact
        d["silent"] = silent
        d["silent_for_s"] = round(quiet_s, 1) if silent and quiet_s is not None else None
        d["health"] = "silent" if silent else d["state"]
        d["why"] = _why(d, quiet_s, limit)
        d["db_recovered"] = _bounded(d["db_recovered"])
        out.append(d)
    return out


def _bounded(recovered: Any) -> Any:
    """Ingest bounds ``db_recovered``; a row written before it did is shown as a note."""
    if recovered is None:
        return None
    size = len(json.dumps(recovered, default=str).encode())
    if size <= MAX_DB_RECOVERED_BYTES:
        return recovered
    return {"left_out": f"{size} bytes, over the {MAX_DB_RECOVERED_BYTES}-byte limit"}


def _why(d: dict[str, Any], quiet_s: float | None, limit: float) -> str:
    if d["health"] == "silent":
        what = (
            f"nothing received for {quiet_s:.0f} s" if quiet_s is not None else "nothing received"
        )
        return f"{what} (limit {limit:.0f} s) although the device reported online"
    if d["state"] == "offline":
        return d["state_reason"] or "connection lost (last will)"
    if d["state"] == "unknown":
        return "no status received yet"
    return d["state_reason"] or ""
