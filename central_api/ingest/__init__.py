"""Central's ingest core: received MQTT messages → one transaction → acks to publish.

The MQTT service around it (``Ingestor.process`` per group of messages, PUBACK and ack
publishing after it returns) lives in ``central_api.service``; nothing here touches the
network. One module per topic kind (``events``, ``status``, ``heartbeat``,
``cmd_result``) holds that kind's limits and dead letters; ``core`` dispatches to them
and writes the result; ``group`` says how each message's end is counted.

Exactly once in effect (docs/architecture.md, "Events"): an event is inserted under unique
keys on ``(device_id, seq)`` and ``id``; its effects run in the same transaction and only
when the insert was new; the ack is published only after the commit. A resent batch is
acked again and counted as duplicates, never applied twice.

Errors: ``process`` does not swallow database errors. ``is_retryable(exc)`` tells the
caller which ones mean "try again later" (database locked or busy, deadlock,
serialization failure, lost connection): retry the group, or message by message. Any
other exception is a bug; retrying message by message isolates the message that
triggers it, and ``Ingestor.dead_letter_failed`` keeps it.
"""

from .core import HANDLERS, Ingestor, Prepared
from .effects import Effect, default_effects
from .group import MAX_DEAD_LETTERS_PER_MESSAGE, Incoming, Outgoing
from .retry import is_retryable

__all__ = [
    "HANDLERS",
    "MAX_DEAD_LETTERS_PER_MESSAGE",
    "Effect",
    "Incoming",
    "Ingestor",
    "Outgoing",
    "Prepared",
    "default_effects",
    "is_retryable",
]
