"""The event envelope, batches, acks, and device status messages (docs/architecture.md)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
)

from .ids import SEQ_MAX, format_ts
from .schemas import Ident

#: bounds for one batch on the wire; central rejects what is larger (reason ``oversize``)
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 512 * 1024
#: bound for one event's serialised JSON
MAX_EVENT_BYTES = 16 * 1024

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

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UuidText
    seq: int = Field(ge=1, le=SEQ_MAX)
    type: TypeName
    v: int = Field(ge=1, le=1000)
    store_id: Ident
    device_id: Ident
    occurred_at: AwareDatetime
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

    model_config = ConfigDict(extra="forbid")

    batch_id: ShortId
    device_id: Ident
    store_id: Ident
    events: list[dict[str, Any]] = Field(max_length=MAX_BATCH_EVENTS)


class DeadLetterReason(StrEnum):
    MALFORMED_JSON = "malformed_json"
    INVALID_BATCH = "invalid_batch"
    UNKNOWN_TYPE = "unknown_type"
    SCHEMA_VIOLATION = "schema_violation"
    OVERSIZE = "oversize"
    DEVICE_TOPIC_MISMATCH = "device_topic_mismatch"
    SEQ_CONFLICT = "seq_conflict"


class Rejection(BaseModel):
    model_config = ConfigDict(extra="ignore")

    seq: int
    reason: DeadLetterReason
    detail: str = ""


class Ack(BaseModel):
    """Central → device after commit: what is stored (ranges of seq) and what was rejected."""

    model_config = ConfigDict(extra="ignore")

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


class Status(BaseModel):
    """Retained device status: birth on connect, last will on an unclean loss."""

    model_config = ConfigDict(extra="ignore")

    state: Literal["online", "offline"]
    reason: str | None = None
    version: str | None = None
    config_version: int | None = None
    boot_id: str | None = None
    at: AwareDatetime | None = None
    db_recovered: dict[str, Any] | None = None


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    at: AwareDatetime
    boot_id: str | None = None
    version: str | None = None
    config_version: int | None = None
    queue_depth: int = 0
    queue_bytes: int = 0
    oldest_unsent_age_s: float | None = None
    evicted_total: int = 0
    dead_letters: int = 0
    disk_free_bytes: int | None = None
    clock_synced: bool | None = None
    inflight_batches: int = 0
    uptime_s: float | None = None


def dumps(obj: Any) -> bytes:
    """Compact JSON as sent on the wire."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json", exclude_none=False)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
