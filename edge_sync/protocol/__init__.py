"""The wire contract between store devices and central (docs/architecture.md).

Central imports this package and nothing else from the device side.
"""

from . import topics
from .envelope import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    Ack,
    Batch,
    DeadLetterReason,
    Event,
    Heartbeat,
    Rejection,
    Status,
    dumps,
    seq_ranges,
)
from .ids import format_ts, is_ident, new_event_id, parse_ts, utcnow
from .schemas import REGISTRY, EventType, Priority, SchemaViolation, UnknownEventType
from .validate import BatchCheck, RejectedEvent, ValidEvent, check_batch

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_EVENT_BYTES",
    "REGISTRY",
    "Ack",
    "Batch",
    "BatchCheck",
    "DeadLetterReason",
    "Event",
    "EventType",
    "Heartbeat",
    "Priority",
    "RejectedEvent",
    "Rejection",
    "SchemaViolation",
    "Status",
    "UnknownEventType",
    "ValidEvent",
    "check_batch",
    "dumps",
    "format_ts",
    "is_ident",
    "new_event_id",
    "parse_ts",
    "seq_ranges",
    "topics",
    "utcnow",
]
