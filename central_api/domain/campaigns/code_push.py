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
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from edge_sync.protocol import format_ts, topics, utcnow
from edge_sync.protocol.link import LinkOptions, MqttLink, NotConnected

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


class CodeTablePublisher:
    """Keeps every store's retained code tables equal to the database's, from one process."""

    def __init__(
        self, engine: Engine, opts: LinkOptions, *, interval_s: float = DEFAULT_INTERVAL_S
    ) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.link = MqttLink(
            opts, on_message=lambda _m: None, on_connect=self._connected, name="central-codes"
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        #: (store, campaign) → the fingerprint last published there (None: cleared)
        self._sent: dict[tuple[str, str], Any] = {}
        self._thread: threading.Thread | None = None
        self._inflight: list[Any] = []
        self.published = 0

    @classmethod
    def for_central(cls, engine: Engine, broker: Any, **kw: Any) -> CodeTablePublisher:
        client_id = f"omk-central-codes-{uuid.uuid4().hex[:12]}"
        opts = LinkOptions.from_settings(broker, client_id=client_id, clean_start=True)
        opts.session_expiry_s = 0
        return cls(engine, opts, **kw)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="central-codes", daemon=True)
        self._thread.start()
        self.link.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.link.stop(timeout=timeout)

    def changed(self) -> None:
        """Codes or campaigns changed (committed): publish what differs now."""
        self._wake.set()

    def _connected(self, _session_present: bool) -> None:
        with self._lock:
            self._sent.clear()  # the broker may have lost its retained messages
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.sync()
            except Exception:
                log.exception("code tables not published; retrying in %.0fs", self.interval_s)

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

    def flush(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged every table published so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                self._inflight = [i for i in self._inflight if not i.is_published()]
                if not self._inflight:
                    return True
            time.sleep(0.01)
        return False
