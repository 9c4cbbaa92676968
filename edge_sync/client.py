"""What the kiosk UI uses to talk to edge_sync: enqueue events, read the sync status,
verify a scanned QR code, read the store's campaigns and resolve a typed fallback code.

The kiosk never imports an MQTT or HTTP library; the sync daemon (another process)
reads the same edge.db and records its link state and last ack time in ``sync_state``,
and stores there what central pushes: public keys and revocations for ``verify_code``,
the campaign list and the fallback-code tables for ``campaigns`` and ``resolve_fallback``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from .campaign_cache import CampaignCache, ListState
from .config import DeviceConfig
from .inventory.availability import Availability
from .inventory.tables import STATUS_KEY as STATE_INVENTORY
from .outbox import Enqueued, Outbox
from .protocol.campaign_list import CampaignEntry
from .protocol.ids import parse_ts
from .protocol.tokens.fallback import parse as parse_fallback

if TYPE_CHECKING:  # the codes' verifier and the signature library load on the first scan
    from .codes import CodeStore
    from .protocol import Event
    from .protocol.tokens import Kind, Token

#: sync_state keys written by the daemon
STATE_LAST_ACK_AT = "last_ack_at"  # RFC 3339 / ISO 8601 UTC time of the last ack applied
STATE_LINK_STATE = "link_state"  # "connected" while the daemon has a broker connection
STATE_DAEMON_PID = "daemon_pid"  # the running sync daemon's process id, on this machine


class UnknownFallback(LookupError):
    """A well-formed fallback code that none of the stored tables holds."""

    def __init__(self, code: str) -> None:
        super().__init__(f"fallback code {code} is not in this store's tables")
        self.code = code


class EdgeClient:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._codes: CodeStore | None = None
        self._campaigns: CampaignCache | None = None
        self._availability: Availability | None = None

    @property
    def availability(self) -> Availability:
        """Store data: ``search(query)``, ``product(sku)``, ``data_age()`` (read-only; the
        sync daemon keeps it current)."""
        if self._availability is None:
            self._availability = Availability(self.outbox.path)
        return self._availability

    @property
    def codes(self) -> CodeStore:
        if self._codes is None:
            from .codes import CodeStore

            self._codes = CodeStore(self.outbox.path)
        return self._codes

    @property
    def campaign_cache(self) -> CampaignCache:
        if self._campaigns is None:
            self._campaigns = CampaignCache(self.outbox.path)
        return self._campaigns

    def campaigns(self, today: date | None = None) -> list[CampaignEntry]:
        """The store's campaigns whose offer holds ``today`` (default: today, UTC, the day
        central's lists go by), from the list central last pushed."""
        return self.campaign_cache.campaigns(today or datetime.now(UTC).date())

    def campaign(self, campaign_id: str) -> CampaignEntry | None:
        """A campaign on the stored list, whatever its days; None when it is not there."""
        return self.campaign_cache.campaign(campaign_id)

    def campaign_list(self) -> ListState | None:
        """Which list is stored (version, day, when it came); None before the first."""
        return self.campaign_cache.list_state()

    def resolve_fallback(self, typed: object) -> str:
        """The token text a typed fallback code stands for, from the stored tables. Raises
        ``fallback.BadFallback`` (a typo: what to check) or ``UnknownFallback``. The token
        must then be verified like a scanned one (``verify_code``)."""
        code = parse_fallback(typed)
        token = self.campaign_cache.resolve(code)
        if token is None:
            raise UnknownFallback(code)
        return token

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
        from .protocol.tokens.verify import verify

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

    def enqueue_many(
        self,
        items: Sequence[tuple[str, dict[str, Any]]],
        session_id: str | None = None,
        *,
        v: int = 1,
    ) -> list[Enqueued]:
        """Store several events in one transaction: all of them or none."""
        return self.outbox.enqueue_many(items, session_id, v=v)

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
        running = daemon_running(self.outbox.get_state(STATE_DAEMON_PID))
        return {
            "queue_depth": st.depth,
            "queue_bytes": st.bytes,
            "oldest_unsent_age_s": st.oldest_unsent_age_s,
            "last_ack_at": last_ack,
            "last_ack_age_s": last_ack_age_s,
            # a daemon killed while online leaves link_state at "connected": not believed
            "connected": link == "connected" and running is not False,
            "link_state": link,
            "daemon_running": running,
            "dead_letters": st.dead_letters,
            "evicted_total": st.evicted_total,
            "evicted_by_type": st.evicted_by_type,
            "db_recovered": self.outbox.get_state("db_recovered"),
            # store data as the daemon last reported it: version, as_of, last_error, …
            "inventory": self.outbox.get_state(STATE_INVENTORY),
        }

    def close(self) -> None:
        if self._codes is not None:
            self._codes.close()
        if self._campaigns is not None:
            self._campaigns.close()
        if self._availability is not None:
            self._availability.close()
        self.outbox.close()

    def __enter__(self) -> EdgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def daemon_running(pid: object) -> bool | None:
    """Whether the process the daemon recorded is alive; None when it never recorded one
    (a device without a daemon yet). A process of another user is alive too."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
