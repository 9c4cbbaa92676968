"""Each store's campaign list, pushed retained on ``omk/v1/down/{store}/campaigns``.

The offer is defined once at central; every store it runs in gets it in one retained
message holding *all* the campaigns running or scheduled there, so a kiosk that wakes up
reads the latest list from the broker without asking anyone. The payload::

    {"v": 1, "store_id": "s042", "version": 17, "as_of": "2026-12-01",
     "campaigns": [{"id", "name", "channel", "starts_on", "ends_on", "landing_url",
                    "offer": {"text": {"en", "de", …}, "visual": {…},
                              "valid_from", "valid_until"}}, …]}

``version`` is the number of the latest campaign change anywhere (it only grows);
``as_of`` the UTC day the list was made for (a campaign leaves the list after its last
day without a change, so a newer day with the same version is a newer list). A store's
list holds at most ``MAX_CAMPAIGNS_PER_STORE`` campaigns (refused at create), which with
the fields' limits keeps a payload under ``MAX_PAYLOAD_BYTES``.

``CampaignPublisher`` publishes a store's list when it differs from what this process
last published there: at start (so every central process republishes), right after a
change made through it (``changed()``), after every reconnect, and every
``interval_s`` (a change made by another process, and days that end campaigns, reach
the stores within that interval).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from edge_sync.protocol import topics, utcnow
from edge_sync.protocol.link import LinkOptions, NotConnected

from ..publisher import Publisher
from .model import MAX_CAMPAIGNS_PER_STORE
from .records import Campaign, all_campaigns, known_stores, today_of, version

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
MAX_PAYLOAD_BYTES = 256 * 1024
DEFAULT_INTERVAL_S = 30.0


def entry(c: Campaign) -> dict[str, Any]:
    """A campaign as a store's kiosks see it (no other store's ids)."""
    return {
        "id": c.id, "name": c.name, "channel": c.channel,
        "starts_on": c.starts_on.isoformat(), "ends_on": c.ends_on.isoformat(),
        "landing_url": c.landing_url, "offer": c.offer_resolved(),
    }  # fmt: skip


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def store_payload(
    store_id: str, campaigns: list[Campaign], version_: int, now: datetime
) -> dict[str, Any]:
    today = today_of(now)
    live = sorted(
        (c for c in campaigns if c.live(today) and c.reaches(store_id)),
        key=lambda c: (c.starts_on, c.id),
    )
    if len(live) > MAX_CAMPAIGNS_PER_STORE:
        # Refused at create and update; only two writers racing could get here.
        log.error(
            "store %s has %d live campaigns; its list carries the first %d",
            store_id, len(live), MAX_CAMPAIGNS_PER_STORE,
        )  # fmt: skip
        live = live[:MAX_CAMPAIGNS_PER_STORE]
    return {
        "v": PAYLOAD_VERSION,
        "store_id": store_id,
        "version": version_,
        "as_of": today.isoformat(),
        "campaigns": [entry(c) for c in live],
    }


def payloads(engine: Engine, now: datetime) -> dict[str, bytes]:
    """Every known store's list, encoded, from one consistent read."""
    with engine.connect() as conn, conn.begin():
        campaigns = all_campaigns(conn)
        stores = known_stores(conn, campaigns)
        v = version(conn)
    return {s: encode(store_payload(s, campaigns, v, now)) for s in sorted(stores)}


class CampaignPublisher(Publisher):
    """Keeps every store's retained list equal to the database's, from one process."""

    name = "central-campaigns"
    what = "campaign lists"

    def __init__(
        self, engine: Engine, opts: LinkOptions, *, interval_s: float = DEFAULT_INTERVAL_S
    ) -> None:
        super().__init__(engine, opts, interval_s)
        #: store → the payload this process last published there
        self._sent: dict[str, bytes] = {}

    @classmethod
    def for_central(cls, engine: Engine, broker: Any, **kw: Any) -> CampaignPublisher:
        return cls(engine, cls.link_options(broker), **kw)

    def sync(self, now: datetime | None = None) -> int:
        """Publish each list that differs from what was last published; returns how many.
        Nothing is sent while the link is down (the next connect publishes them all)."""
        if not self.link.connected:
            return 0
        with self._lock:
            sent = 0
            for store, body in payloads(self.engine, now or utcnow()).items():
                if self._sent.get(store) == body:
                    continue
                try:
                    info = self.link.publish(topics.campaigns(store), body, qos=1, retain=True)
                except NotConnected:
                    log.info("campaign lists: link down after %d of them", sent)
                    return sent
                self._sent[store] = body
                self._inflight.append(info)
                sent += 1
            self.published += sent
            return sent

    @property
    def stores_current(self) -> int:
        """Stores whose list this process has published since it last connected."""
        with self._lock:
            return len(self._sent)
