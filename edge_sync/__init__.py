"""The device side: the durable outbox, the kiosk's client API, and the sync daemon.

Its names load with their module on first use (``protocol/lazy.py``), so importing one
module of the package (the daemon's, a kiosk screen's) does not import them all.
"""

from .protocol.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".client": ("EdgeClient",),
        ".errors": ("DatabaseBusy", "DiskFull", "EdgeError", "EventRejected", "OutboxFull"),
        ".outbox": ("Outbox",),
    },
)
