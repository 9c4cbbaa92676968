"""``StoreFeedPublisher``: every central process advances every store's feed and
publishes what is new, in order, per store:

* each delta not yet published, in version order, on ``omk/v1/down/{store}/inventory/delta``
  (QoS 1, not retained), then
* the manifest of the latest snapshot on ``omk/v1/down/{store}/inventory`` (QoS 1,
  retained: a device that wakes up learns the latest version).

A delta is marked published once the broker acknowledged it; two processes may each
publish one once (a device drops a delta it has passed). A manifest goes out when this
process has not published that version since its last connect, so a process that lags
behind another corrects the retained manifest on its next round.

Advancing every feed is skipped when nothing any feed reads has moved since the last
round: one read of the counters, of each store's stock version and as-of time, and of
the orders due for pickup.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, tuple_

from edge_sync.protocol import format_ts, topics, utcnow
from edge_sync.protocol.link import LinkOptions, NotConnected
from edge_sync.protocol.store_data import FORMAT, canonical, snapshot_path

from ...store.db import write_transaction
from ...store.feed_tables import store_deltas, store_feeds, store_snapshots
from ...store.inventory_tables import inventory_versions, stores
from ...store.order_tables import order_records
from ..inventory.stores import UnknownStore
from ..orders.model import READY
from ..publisher import Publisher
from .feed import advance
from .snapshot import ProductsCache
from .sources import FeedSettings

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 2.0
ACK_TIMEOUT_S = 10.0
#: deltas sent in one round at most (the rest in the next, at once: ``drain``)
MAX_DELTAS = 500


def manifest_topic(store_id: str) -> str:
    return topics.store_down(store_id, "inventory")


def delta_topic(store_id: str) -> str:
    return topics.store_down(store_id, "inventory/delta")


@dataclass(frozen=True, slots=True)
class Manifest:
    store_id: str
    version: int
    sha256: str
    size: int
    built_at: datetime

    def body(self) -> bytes:
        return canonical({
            "format": FORMAT, "store_id": self.store_id, "version": self.version,
            "sha256": self.sha256, "size": self.size,
            "snapshot_url": snapshot_path(self.store_id, self.version),
            "built_at": format_ts(self.built_at),
        })  # fmt: skip


def fingerprint(engine: Engine) -> str:
    """Changes whenever anything a feed reads may have changed (not only then)."""
    h = hashlib.sha256()
    with engine.connect() as conn, conn.begin():
        v = inventory_versions.c
        h.update(repr(sorted(conn.execute(select(v.scope, v.version)).all())).encode())
        s = stores.c
        for r in conn.execute(select(s.id, s.stock_version, s.stock_as_of).order_by(s.id)):
            h.update(repr(tuple(r)).encode())
        o = order_records.c
        due = select(o.id, o.revision).where(o.state == READY).order_by(o.id)
        for r in conn.execute(due):
            h.update(repr(tuple(r)).encode())
    return h.hexdigest()


def advance_all(
    engine: Engine, now: datetime, settings: FeedSettings, cache: ProductsCache | None = None
) -> int:
    """Advance every store's feed; returns how many moved to a new version."""
    with engine.connect() as conn:
        ids = list(conn.scalars(select(stores.c.id).order_by(stores.c.id)))
    moved = 0
    for store_id in ids:
        try:
            if advance(engine, store_id, now, settings, cache) is not None:
                moved += 1
        except UnknownStore:
            continue  # (stores are never deleted today; one gone is nothing to advance)
    return moved


def pending(engine: Engine, limit: int = MAX_DELTAS) -> tuple[list[Any], dict[str, Manifest]]:
    """The deltas not yet published (by store and version) and every store's latest
    manifest, read together (so no manifest is ahead of a delta read with it)."""
    d, f, s = store_deltas.c, store_feeds.c, store_snapshots.c
    with engine.connect() as conn, conn.begin():
        deltas = conn.execute(
            select(d.store_id, d.to_version, d.body)
            .where(d.published_at.is_(None))
            .order_by(d.store_id, d.to_version)
            .limit(limit)
        ).all()
        q = select(s.store_id, s.version, s.sha256, s.size, s.built_at).join(
            store_feeds, (f.store_id == s.store_id) & (f.version == s.version)
        )
        manifests = {r.store_id: Manifest(*r) for r in conn.execute(q)}
    return deltas, manifests


class StoreFeedPublisher(Publisher):
    """Advances the stores' feeds and publishes their deltas and manifests."""

    name = "central-store-feed"
    what = "store deltas and manifests"
    drain = True

    def __init__(
        self,
        engine: Engine,
        opts: LinkOptions,
        settings: FeedSettings,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(engine, opts, interval_s)
        self.settings = settings
        self.clock = clock
        self.cache = ProductsCache()
        self._fingerprint: str | None = None
        self.advanced = 0

    @classmethod
    def for_central(
        cls, engine: Engine, broker: Any, settings: FeedSettings, **kw: Any
    ) -> StoreFeedPublisher:
        return cls(engine, cls.link_options(broker), settings, **kw)

    def advance(self) -> int:
        """Advance every feed, unless nothing they read has moved since the last time."""
        seen = fingerprint(self.engine)
        if seen == self._fingerprint:
            return 0
        moved = advance_all(self.engine, self.clock(), self.settings, self.cache)
        self._fingerprint = seen  # (read before advancing: a later change is seen next round)
        self.advanced += moved
        return moved

    def sync(self) -> int:
        self.advance()
        if not self.link.connected:
            return 0
        with self._lock:
            deltas, manifests = pending(self.engine, MAX_DELTAS)
            by_store: dict[str, list[Any]] = {}
            for row in deltas:
                by_store.setdefault(row.store_id, []).append(row)
            due = {k: m for k, m in manifests.items() if self._sent.get(k) != m.version}
            if len(deltas) == MAX_DELTAS:  # cut short: no manifest ahead of its deltas
                cut = deltas[-1].store_id
                if deltas[0].store_id != cut:  # (the rest of its deltas come next round)
                    by_store.pop(cut)
                    deltas = [r for r in deltas if r.store_id != cut]
                due = {k: m for k, m in due.items() if k < cut}
            if not by_store and not due:
                return 0
            infos = []
            try:
                for store in sorted(set(by_store) | set(due)):
                    for row in by_store.get(store, []):
                        infos.append(self.link.publish(delta_topic(store), row.body, qos=1))
                    if store in due:
                        body = due[store].body()
                        infos.append(
                            self.link.publish(manifest_topic(store), body, qos=1, retain=True)
                        )
            except NotConnected:
                log.info("store feeds: link down; deltas and manifests go out when it is back")
                return 0
            deadline = time.monotonic() + ACK_TIMEOUT_S
            while not all(i.is_published() for i in infos):
                if time.monotonic() > deadline or self._stop.is_set():
                    return 0  # not marked: sent again next round
                time.sleep(0.005)
            if deltas:
                d = store_deltas.c
                keys = [(r.store_id, r.to_version) for r in deltas]
                with write_transaction(self.engine) as conn:
                    conn.execute(
                        store_deltas.update()
                        .where(tuple_(d.store_id, d.to_version).in_(keys), d.published_at.is_(None))
                        .values(published_at=self.clock())
                    )
            self._sent.update({k: m.version for k, m in due.items()})
            self.published += len(infos)
            return len(deltas)
