"""What the kiosk UI uses to talk to edge_sync: enqueue events and read the sync status.

The kiosk never imports an MQTT or HTTP library; the sync daemon (another process)
reads the same edge.db and records its link state and last ack time in ``sync_state``.
"""

from __future__ import annotations

import time
from typing import Any

from .config import DeviceConfig
from .outbox import Enqueued, Outbox
from .protocol import Event, parse_ts

#: sync_state keys written by the daemon
STATE_LAST_ACK_AT = "last_ack_at"  # RFC 3339 / ISO 8601 UTC time of the last ack applied
STATE_LINK_STATE = "link_state"  # "connected" while the daemon has a broker connection


class EdgeClient:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    @classmethod
    def from_config(cls, cfg: DeviceConfig) -> EdgeClient:
        return cls(Outbox.from_config(cfg))

    def enqueue(
        self, type: str, data: dict[str, Any], session_id: str | None = None, *, v: int = 1
    ) -> Event:
        """Store an event durably; returns once it is committed. See ``Outbox.enqueue``."""
        return self.outbox.enqueue(type, data, session_id, v=v)

    def enqueue_result(
        self, type: str, data: dict[str, Any], session_id: str | None = None, *, v: int = 1
    ) -> Enqueued:
        return self.outbox.enqueue_result(type, data, session_id, v=v)

    def sync_status(self) -> dict[str, Any]:
        """What a status screen shows: how much is waiting and whether sync is working."""
        st = self.outbox.stats()
        last_ack = self.outbox.get_state(STATE_LAST_ACK_AT)
        last_ack_age_s = None
        if isinstance(last_ack, str):
            try:
                last_ack_age_s = max(0.0, time.time() - parse_ts(last_ack).timestamp())
            except ValueError:
                last_ack = None
        link = self.outbox.get_state(STATE_LINK_STATE)
        return {
            "queue_depth": st.depth,
            "queue_bytes": st.bytes,
            "oldest_unsent_age_s": st.oldest_unsent_age_s,
            "last_ack_at": last_ack,
            "last_ack_age_s": last_ack_age_s,
            "connected": link == "connected",
            "link_state": link,
            "dead_letters": st.dead_letters,
            "evicted_total": st.evicted_total,
            "evicted_by_type": st.evicted_by_type,
            "db_recovered": self.outbox.get_state("db_recovered"),
        }

    def close(self) -> None:
        self.outbox.close()

    def __enter__(self) -> EdgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
