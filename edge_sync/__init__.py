"""The device side: the durable outbox, the kiosk's client API, and the sync daemon."""

from .client import EdgeClient
from .errors import DatabaseBusy, DiskFull, EdgeError, EventRejected, OutboxFull
from .outbox import Outbox

__all__ = [
    "DatabaseBusy",
    "DiskFull",
    "EdgeClient",
    "EdgeError",
    "EventRejected",
    "Outbox",
    "OutboxFull",
]
