"""Keeping the store's data current in the sync daemon: manifest, deltas, snapshots.

MQTT's thread only hands payloads over (``offer``). ``step`` (on this object's own
thread, ``start``) does the rest, so a slow or dead central never holds up MQTT or the
outbox's send loop:

* the newest manifest says which version central is at;
* a delta whose ``from_version`` is the stored version is applied (one transaction);
  one already passed is a duplicate and dropped; one further ahead waits in a bounded
  buffer until the chain up to it closes;
* a snapshot is fetched when there is none yet, when a delta's checksum is wrong, or
  when the device stays behind the manifest (or holds deltas it cannot reach) for
  ``gap_grace_s`` — deltas can arrive after the manifest, so a gap is given a moment;
  after the snapshot, buffered deltas beyond it are applied;
* a failed fetch is retried with doubling waits; a payload that is not central's is
  logged with the reason and counted, and what is stored stays.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..config import CentralSettings, DeviceConfig
from ..db import open_edge_db
from ..protocol import topics
from ..protocol.ids import format_ts, utcnow
from ..protocol.store_data import (
    MAX_DELTA_BYTES,
    MAX_MANIFEST_BYTES,
    BadStoreData,
    Delta,
    Manifest,
    parse_delta,
    parse_manifest,
    parse_snapshot,
)
from . import tables
from .deltas import DeltaHook, StaleDelta, apply_delta
from .fetch import FetchFailed, SnapshotFetcher
from .load import Hook, load_snapshot

log = logging.getLogger(__name__)

#: deltas waiting for their chain, at most; more means fetching the snapshot
BUFFER_MAX = 256
#: delta payloads waiting for ``step``, at most (more are dropped: a gap the snapshot closes)
PENDING_MAX = 1024


class InventorySync:
    def __init__(
        self,
        store_id: str,
        db_path: str | Path,
        central: CentralSettings | None = None,
        hooks: Iterable[Hook] = (),
        *,
        delta_hooks: Iterable[DeltaHook] = (),
        gap_grace_s: float = 3.0,
        buffer_max: int = BUFFER_MAX,
    ) -> None:
        self.store_id = store_id
        self.central = central or CentralSettings()
        self.hooks = list(hooks)
        self.delta_hooks = list(delta_hooks)
        self.gap_grace_s = gap_grace_s
        self.buffer_max = buffer_max
        self.manifest_topic = topics.store_down(store_id, "inventory")
        self.delta_topic = topics.store_down(store_id, "inventory/delta")
        self._conn, _ = open_edge_db(db_path)
        # The cache is central's data again at the next snapshot: a power cut that loses
        # the last commits costs a refetch, not data, so no fsync per delta.
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._lock = threading.Lock()
        self._manifest_payload: bytes | None = None
        self._delta_payloads: list[bytes] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fetcher: SnapshotFetcher | None = None
        self.manifest: Manifest | None = None
        self.buffer: dict[int, Delta] = {}
        self.version: int | None = self._stored_version()
        self._behind_since: float | None = None
        self._refetch_reason: str | None = None
        self._retry_at = 0.0
        self._retry_delay = self.central.retry_min_s
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        #: what was applied: "delta", "snapshot"; what was refused, by reason
        self.applied: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self._status_written: str | None = None

    @classmethod
    def from_config(
        cls, cfg: DeviceConfig, hooks: Iterable[Hook] = (), delta_hooks: Iterable[DeltaHook] = ()
    ) -> InventorySync:
        return cls(cfg.device.store_id, cfg.db_path, cfg.central, hooks, delta_hooks=delta_hooks)

    def _stored_version(self) -> int | None:
        return self._conn.execute(f"SELECT version FROM {tables.STATE}").fetchone()[0]

    # -- MQTT's thread ---------------------------------------------------------------------

    def subscriptions(self) -> list[tuple[str, int]]:
        return [(self.manifest_topic, 1), (self.delta_topic, 1)]

    def offer(self, topic: str, payload: bytes) -> bool:
        """Keep ``payload`` for ``step``; False when the topic is not store data's."""
        if topic == self.manifest_topic:
            if len(payload) > MAX_MANIFEST_BYTES:
                return self._refuse("manifest", f"{len(payload)} bytes (too large)")
            with self._lock:
                self._manifest_payload = payload
        elif topic == self.delta_topic:
            if len(payload) > MAX_DELTA_BYTES:
                return self._refuse("delta", f"{len(payload)} bytes (too large)")
            with self._lock:
                if len(self._delta_payloads) >= PENDING_MAX:
                    return self._refuse(
                        "delta", "too many waiting (the snapshot will close the gap)"
                    )
                self._delta_payloads.append(payload)
        else:
            return False
        self._wake.set()
        return True

    def _refuse(self, kind: str, why: str) -> bool:
        self.ignored[f"bad_{kind}"] += 1
        log.warning("ignoring a store-data %s: %s", kind, why)
        return True

    # -- the worker ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="inventory-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
        if self._fetcher is not None:
            self._fetcher.close()
        self._conn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                due = self.step()
            except Exception:
                # the database (locked, disk full), not a message: log and try again
                log.exception("store-data sync error; retrying")
                due = 1.0
            self._wake.wait(due)

    def step(self) -> float:
        """Take in what was offered, apply what can be, fetch the snapshot if needed.
        Returns how long until there is something to do without a new message."""
        with self._lock:
            manifest, self._manifest_payload = self._manifest_payload, None
            deltas, self._delta_payloads = self._delta_payloads, []
        for payload in deltas:
            self._take_delta(payload)
        if manifest is not None:
            self._take_manifest(manifest)
        self._apply_chain()
        due = self._maybe_fetch()
        self._write_status()
        return due

    def _take_manifest(self, payload: bytes) -> None:
        try:
            m = parse_manifest(payload, self.store_id)
        except BadStoreData as err:
            self._refuse("manifest", str(err))
            return
        self.manifest = m

    def _take_delta(self, payload: bytes) -> None:
        try:
            d = parse_delta(payload, self.store_id)
        except BadStoreData as err:
            self._refuse("delta", str(err))
            return
        if not d.checksum_ok:
            self._refuse("delta", f"{d.from_version}→{d.to_version}: wrong sha256")
            self._refetch_reason = f"delta {d.from_version}→{d.to_version} had a wrong checksum"
            return
        if self.version is not None and d.to_version <= self.version:
            self.ignored["duplicate"] += 1
            return
        if d.from_version in self.buffer:
            self.ignored["duplicate"] += 1
            return
        if len(self.buffer) >= self.buffer_max:
            self.ignored["buffer_full"] += 1
            self._refetch_reason = f"more than {self.buffer_max} deltas wait for a gap"
            return
        self.buffer[d.from_version] = d

    def _apply_chain(self) -> None:
        while self.version is not None and (d := self.buffer.pop(self.version, None)):
            try:
                apply_delta(self._conn, d, self.delta_hooks)
            except StaleDelta:  # another process changed the version: go by what is stored
                self.version = self._stored_version()
                continue
            self.version = d.to_version
            self.applied["delta"] += 1
        if self.version is not None:
            # passed, or overlapping the stored version (never reachable from it)
            v = self.version
            for k in [k for k, d in self.buffer.items() if d.to_version <= v or k < v]:
                del self.buffer[k]

    def _behind(self) -> bool:
        if self.buffer:
            return True
        m = self.manifest
        return m is not None and self.version is not None and m.version > self.version

    def _maybe_fetch(self) -> float:
        now = time.monotonic()
        behind = self._behind()
        if not behind:
            self._behind_since = None
            self._refetch_reason = None
        elif self._behind_since is None:
            self._behind_since = now
        m = self.manifest
        if m is None or (self.version is not None and m.version <= self.version):
            return 3600.0  # nothing to fetch; a new manifest wakes us
        if self.version is None:
            reason = "no snapshot loaded yet"
        elif self._refetch_reason is not None:
            reason = self._refetch_reason
        elif self._behind_since is not None and now - self._behind_since >= self.gap_grace_s:
            reason = f"version {self.version} cannot reach central's {m.version} by deltas"
        else:
            return max(0.01, self.gap_grace_s - (now - (self._behind_since or now)))
        if now < self._retry_at:
            return self._retry_at - now
        self._fetch(m, reason)
        if self.version is not None and m.version <= self.version:
            return 0.0 if self.buffer else 3600.0
        return max(0.01, self._retry_at - time.monotonic())  # failed: the retry is due then

    def _fetch(self, m: Manifest, reason: str) -> None:
        log.info("fetching store-data snapshot %d (%s)", m.version, reason)
        try:
            fetcher = self._fetcher_or_fail()
            body = fetcher.fetch(m)
            snap = parse_snapshot(body, self.store_id)
            if snap.version != m.version:
                raise BadStoreData(f"snapshot: version {snap.version}, the manifest's {m.version}")
            load_snapshot(self._conn, snap, self.hooks)
        except (FetchFailed, BadStoreData, ValueError) as err:
            if isinstance(err, BadStoreData):
                self.ignored["bad_snapshot"] += 1
            self._failed(f"snapshot {m.version}: {err}")
            return
        except Exception as err:  # the database, or a hook: keep the old data, try again
            log.exception("storing store-data snapshot %d failed", m.version)
            self._failed(f"snapshot {m.version}: storing it failed: {err}")
            return
        self.version = snap.version
        self.applied["snapshot"] += 1
        self._refetch_reason = None
        self._behind_since = None
        self._retry_delay = self.central.retry_min_s
        self._retry_at = 0.0
        log.info("loaded store-data snapshot %d: %d products", snap.version, len(snap.products))
        self._apply_chain()

    def _fetcher_or_fail(self) -> SnapshotFetcher:
        if self._fetcher is None:
            if not self.central.url:
                raise FetchFailed("no [central] url in the device config: cannot fetch snapshots")
            key = self.central.api_key()
            self._fetcher = SnapshotFetcher(
                self.central.url, key, self.central.timeout_s, self.central.read_timeout_s
            )
        return self._fetcher

    def _failed(self, why: str) -> None:
        self.last_error, self.last_error_at = why, format_ts(utcnow())
        log.warning("%s; trying again in %.0fs", why, self._retry_delay)
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.central.retry_max_s)

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        row = self._conn.execute(
            f"SELECT version, built_at, loaded_at, delta_at, store FROM {tables.STATE}"
        ).fetchone()
        store = json.loads(row[4]) if row[4] else {}
        return {
            "version": row[0],
            "built_at": row[1],
            "loaded_at": row[2],
            "delta_at": row[3],
            "as_of": store.get("stock_as_of"),
            "central_version": self.manifest.version if self.manifest else None,
            "buffered_deltas": len(self.buffer),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "applied": dict(self.applied),
            "ignored": dict(self.ignored),
        }

    def _write_status(self) -> None:
        text = json.dumps(self.status(), sort_keys=True)
        if text == self._status_written:
            return
        try:
            self._conn.execute(
                "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                (tables.STATUS_KEY, text),
            )
            self._status_written = text
        except sqlite3.Error:
            log.exception("could not record the store-data sync status")
