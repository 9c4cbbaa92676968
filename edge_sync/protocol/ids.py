"""Identifiers and timestamps shared by the device and central."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import uuid_utils

#: store, device and staff ids: safe as one MQTT topic level and as a file name.
IDENT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_IDENT_RE = re.compile(IDENT_PATTERN)

#: seq is a signed 64-bit integer on both ends (SQLite INTEGER, PostgreSQL BIGINT).
SEQ_MAX = 2**63 - 1


def is_ident(value: str) -> bool:
    return bool(_IDENT_RE.match(value))


def new_event_id() -> str:
    """A UUIDv7: time-ordered, so ids sort by creation and index well.

    uuid-utils (the Rust ``uuid`` crate) keeps ids monotonic with a counter inside
    the millisecond instead of pushing the timestamp ahead during bursts, so the
    time in an id stays the real time of creation.
    """
    return str(uuid_utils.uuid7())


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_ts(ts: datetime) -> str:
    """RFC 3339 UTC with milliseconds and a ``Z``: ``2026-11-23T10:15:02.118Z``.

    The year always has four digits (``0042-…``): ``strftime("%Y")`` leaves years before
    1000 unpadded on glibc, which is not RFC 3339."""
    if ts.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    ts = ts.astimezone(UTC)
    return (
        f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}:"
        f"{ts.second:02d}.{ts.microsecond // 1000:03d}Z"
    )


def parse_ts(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    return ts.astimezone(UTC)
