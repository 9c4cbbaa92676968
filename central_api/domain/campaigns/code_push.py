"""Each store's fallback-code tables, pushed retained on ``omk/v1/down/{store}/codes/{campaign}``.

A kiosk resolves a typed fallback code offline by looking it up in the table of its
campaign (``tokens.code_table``: canonical fallback code → token), then verifies the
token as if it had been scanned. Central pushes, for every live campaign with recipient
codes and every store it reaches, the table of the codes of the campaign's current
generation; a campaign that ended (or stopped reaching a store) gets an empty retained
message there, which clears it.

``CodeTablePublisher`` works like ``push.CampaignPublisher``: it publishes at start, when
told of a change (``changed()``: codes issued, rotated), after every reconnect, and
every ``interval_s`` when something differs from what it last published. Building a
table reads every code of the campaign, so it compares a cheap fingerprint first (the
campaign's revision and status, its code generation, count and latest issue) and
rebuilds only the tables whose fingerprint moved. Ended campaigns are cleared for
``CLEAR_DAYS`` after their end: past that their codes have expired on every kiosk
anyway, and a restart does not republish empty messages for every campaign ever run.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from edge_sync.protocol import format_ts, topics, utcnow
from edge_sync.protocol.link import LinkOptions, NotConnected

from ..publisher import Publisher
from .codes import fingerprints, table_codes
from .records import Campaign, all_campaigns, known_stores, today_of

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 30.0
CLEAR_DAYS = 30


def table_payload(campaign_id: str, codes: dict[str, str], now: datetime) -> bytes:
    doc = {"v": 1, "campaign_id": campaign_id, "issued_at": format_ts(now), "codes": codes}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _ended_at(c: Campaign) -> datetime:
    end = datetime.combine(c.ends_on + timedelta(days=1), datetime.min.time(), c.created_at.tzinfo)
    return min(end, c.ended_at) if c.ended_at is not None else end


class CodeTablePublisher(Publisher):
    """Keeps every store's retained code tables equal to the database's, from one process."""

    name = "central-codes"
    what = "code tables"

    def __init__(
        self, engine: Engine, opts: LinkOptions, *, interval_s: float = DEFAULT_INTERVAL_S
    ) -> None:
        super().__init__(engine, opts, interval_s)
        #: (store, campaign) → the fingerprint last published there (None: cleared)
        self._sent: dict[tuple[str, str], Any] = {}

    @classmethod
    def for_central(cls, engine: Engine, broker: Any, **kw: Any) -> CodeTablePublisher:
        return cls(engine, cls.link_options(broker), **kw)

    def _wanted(self, now: datetime) -> dict[tuple[str, str], Any]:
        """(store, campaign) → the fingerprint of what it should hold (None: nothing)."""
        with self.engine.connect() as conn, conn.begin():
            campaigns = {c.id: c for c in all_campaigns(conn)}
            prints = fingerprints(conn)
            stores = known_stores(conn, campaigns.values())
        today = today_of(now)
        out: dict[tuple[str, str], Any] = {}
        for cid, fp in prints.items():
            c = campaigns.get(cid)
            if c is None:
                continue
            live = c.live(today)
            if not live and now - _ended_at(c) > timedelta(days=CLEAR_DAYS):
                continue
            for store in stores:
                has = live and c.reaches(store) and fp[1] > 0
                out[(store, cid)] = (c.revision, *fp) if has else None
        return out

    def sync(self, now: datetime | None = None) -> int:
        """Publish each table that differs from what was last published; returns how many.
        Nothing is sent while the link is down (the next connect publishes them all)."""
        if not self.link.connected:
            return 0
        now = now or utcnow()
        with self._lock:
            sent = 0
            tables: dict[str, bytes] = {}
            for (store, cid), fp in sorted(self._wanted(now).items()):
                if (store, cid) in self._sent and self._sent[(store, cid)] == fp:
                    continue
                if fp is None:
                    body = b""
                else:
                    if cid not in tables:
                        with self.engine.connect() as conn:
                            tables[cid] = table_payload(cid, table_codes(conn, cid), now)
                    body = tables[cid]
                try:
                    info = self.link.publish(
                        topics.code_table(store, cid), body, qos=1, retain=True
                    )
                except NotConnected:
                    log.info("code tables: link down after %d of them", sent)
                    return sent
                self._sent[(store, cid)] = fp
                self._inflight.append(info)
                sent += 1
            self.published += sent
            return sent

    @property
    def tables_current(self) -> int:
        """Tables (store and campaign) this process has published since it connected."""
        with self._lock:
            return sum(1 for fp in self._sent.values() if fp is not None)
