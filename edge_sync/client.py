"""What the kiosk UI uses to talk to edge_sync: enqueue events, read the sync status,
verify a scanned QR code.

The kiosk never imports an MQTT or HTTP library; the sync daemon (another process)
reads the same edge.db and records its link state and last ack time in ``sync_state``,
and stores central's public keys and revocations there for ``verify_code``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .codes import CodeStore
from .config import DeviceConfig
from .outbox import Enqueued, Outbox
from .protocol import Event, parse_ts
from .protocol.tokens import Kind, Token, verify

#: sync_state keys written by the daemon
STATE_LAST_ACK_AT = "last_ack_at"  # RFC 3339 / ISO 8601 UTC time of the last ack applied
STATE_LINK_STATE = "link_state"  # "connected" while the daemon has a broker connection


class EdgeClient:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._codes: CodeStore | None = None

    @property
    def codes(self) -> CodeStore:
        if self._codes is None:
            self._codes = CodeStore(self.outbox.path)
        return self._codes

    def verify_code(
        self,
        text: object,
        now: datetime | None = None,
        kinds: Iterable[Kind | str] | None = None,
    ) -> Token:
        """Check a scanned code offline against the keys and revocations central last
        pushed. Returns the ``Token``, or raises ``tokens.InvalidToken`` whose
        ``message(lang)`` is what to tell the shopper. Pickup codes must be for this store
        and not used before here (``mark_code_used``)."""
        codes = self.codes
        return verify(
            text,
            codes.keyring(),
            now=now,
            revoked=codes.revocations,
            store_id=self.outbox.store_id,
            kinds=kinds,
            used=codes.is_used,
        )

    def mark_code_used(self, token: Token) -> None:
        """Record that a one-time (pickup) code was used at this kiosk."""
        self.codes.mark_used(token.token_hash)

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
        if self._codes is not None:
            self._codes.close()
        self.outbox.close()

    def __enter__(self) -> EdgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
