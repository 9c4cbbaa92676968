"""The wire contract between store devices and central (docs/architecture.md).

Central imports this package and nothing else from the device side. Its names load
with their module on first use (``lazy.py``): importing ``protocol.ids`` does
not build the event schemas.
"""

from .lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".envelope": (
            "MAX_BATCH_BYTES",
            "MAX_BATCH_EVENTS",
            "MAX_EVENT_BYTES",
            "Ack",
            "Batch",
            "DeadLetterReason",
            "Event",
            "Heartbeat",
            "Rejection",
            "Status",
            "dumps",
            "seq_ranges",
        ),
        ".ids": ("format_ts", "is_ident", "new_event_id", "parse_ts", "utcnow"),
        ".schemas": ("REGISTRY", "EventType", "Priority", "SchemaViolation", "UnknownEventType"),
        ".validate": ("BatchCheck", "RejectedEvent", "ValidEvent", "check_batch"),
    },
    submodules=("topics",),
)
