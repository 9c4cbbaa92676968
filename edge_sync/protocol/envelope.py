"""The event envelope, batches, acks, and device status messages (docs/architecture.md)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
)

from .ids import SEQ_MAX, format_ts
from .schemas import Ident
from .timefmt import Rfc3339Time

#: bounds for one batch on the wire; central rejects what is larger (reason ``oversize``)
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 512 * 1024
#: bound for one event's serialised JSON
MAX_EVENT_BYTES = 16 * 1024
#: an event nests at most this many levels (the event object is level 1, its data 2)
MAX_EVENT_DEPTH = 32
#: bounds for one status or heartbeat message, and for a status's ``db_recovered``
MAX_SIGNAL_BYTES = 16 * 1024
MAX_SIGNAL_DEPTH = 8
MAX_DB_RECOVERED_BYTES = 4096
MAX_DB_RECOVERED_DEPTH = 3
#: the longest heartbeat interval a device may report (a day)
MAX_HEARTBEAT_S = 86_400.0

UuidText = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", to_lower=True
    ),
]
TypeName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$", max_length=64)
]
ShortId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Event(BaseModel):
    """One fact that happened at a kiosk (or online). ``id`` is its identity everywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: UuidText
    seq: int = Field(ge=1, le=SEQ_MAX)
    type: TypeName
    v: int = Field(ge=1, le=1000)
    store_id: Ident
    device_id: Ident
    occurred_at: Rfc3339Time
    mono_ns: int = Field(ge=0, le=SEQ_MAX)
    boot_id: ShortId
    clock_synced: bool
    session_id: ShortId | None = None
    data: dict[str, Any]

    @field_serializer("occurred_at")
    def _ts(self, value: datetime) -> str:
        return format_ts(value)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Batch(BaseModel):
    """Envelope of an ``events`` message. Events stay raw dicts here: each is validated
    on its own so that one bad event is rejected without holding back the rest."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    batch_id: ShortId
    device_id: Ident
    store_id: Ident
    events: list[dict[str, Any]] = Field(max_length=MAX_BATCH_EVENTS)


class DeadLetterReason(StrEnum):
    """Why central could not use something it received (see docs/events.md)."""

    MALFORMED_JSON = "malformed_json"
    INVALID_BATCH = "invalid_batch"
    UNKNOWN_TYPE = "unknown_type"
    SCHEMA_VIOLATION = "schema_violation"
    OVERSIZE = "oversize"
    DEVICE_TOPIC_MISMATCH = "device_topic_mismatch"
    SEQ_CONFLICT = "seq_conflict"
    #: JSON nested deeper than its limit
    TOO_DEEP = "too_deep"
    #: a number no 64-bit column can hold, one too long to read, or not finite
    OUT_OF_RANGE = "out_of_range"
    #: a lone surrogate or bytes that are not UTF-8, in any string or key
    BAD_UNICODE = "bad_unicode"
    #: one dead letter standing for a message's rejections past the per-message cap
    TRUNCATED = "truncated"
    #: a message central does not expect on that topic (a cmd_result for no command)
    UNEXPECTED = "unexpected"
    #: a linking event whose QR token does not verify at central, does not say what the
    #: event claims, or is missing (``visit.linked`` / ``campaign.scanned`` v1)
    BAD_TOKEN = "bad_token"
    #: central failed on the message itself (a bug); kept so that nothing vanishes
    INGEST_ERROR = "ingest_error"


class Rejection(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    seq: int
    reason: DeadLetterReason
    detail: str = ""


class Ack(BaseModel):
    """Central → device after commit: what is stored (ranges of seq) and what was rejected."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    batch_id: str | None
    acked: list[tuple[int, int]] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)

    def seqs(self) -> list[int]:
        out = [s for lo, hi in self.acked for s in range(lo, hi + 1)]
        out.extend(r.seq for r in self.rejected)
        return out


def seq_ranges(seqs: list[int] | set[int]) -> list[tuple[int, int]]:
    """``[1, 2, 3, 7, 9, 10]`` → ``[(1, 3), (7, 7), (9, 10)]``."""
    out: list[tuple[int, int]] = []
    for s in sorted(set(seqs)):
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


# Status and heartbeat fields are bounded so that what central stores and shows for one
# device stays small: texts by length, counts by what a 64-bit column holds, times finite.
Text64 = Annotated[str, StringConstraints(max_length=64)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
Count = Annotated[int, Field(ge=0, le=SEQ_MAX)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Status(BaseModel):
    """Retained device status: birth on connect, last will on an unclean loss."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    state: Literal["online", "offline"]
    reason: Text200 | None = None
    version: Text64 | None = None
    config_version: Count | None = None
    boot_id: Text64 | None = None
    at: Rfc3339Time | None = None
    #: what the device did with a corrupt outbox file (``MAX_DB_RECOVERED_*`` bound it)
    db_recovered: dict[str, Any] | None = None


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    at: Rfc3339Time
    boot_id: Text64 | None = None
    version: Text64 | None = None
    config_version: Count | None = None
    queue_depth: Count = 0
    queue_bytes: Count = 0
    oldest_unsent_age_s: Seconds | None = None
    evicted_total: Count = 0
    dead_letters: Count = 0
    disk_free_bytes: Count | None = None
    clock_synced: bool | None = None
    inflight_batches: Count = 0
    uptime_s: Seconds | None = None
    #: the device's heartbeat interval: central calls it silent after 3 missed ones
    heartbeat_s: Annotated[float, Field(gt=0, le=MAX_HEARTBEAT_S, allow_inf_nan=False)] | None = (
        None
    )


def dumps(obj: Any) -> bytes:
    """Compact JSON as sent on the wire."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json", exclude_none=False)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
