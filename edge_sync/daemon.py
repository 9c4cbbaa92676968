"""The sync daemon: drains the outbox to central over MQTT and reports the device's health.

Rules that keep delivery exactly-once in effect (docs/architecture.md, "Events"):

* an event leaves the outbox only when central's ack (or rejection) names its seq;
* whatever is not acked within the ack timeout, or was in flight when the link
  dropped, is sent again — central dedups, so a resend is harmless;
* events enqueued after the daemon (re)connected are "live" and go ahead of the
  backlog, so a pickup confirmed now is not stuck behind a day of offline searches.

One thread (``run``) owns the send loop and the outbox connection; MQTT callbacks
only queue acks (and keys messages) and wake it.

The daemon also keeps the device's copy of what central pushes retained: public keys
and revocations, the store's campaign list and its fallback-code tables
(``downlink.Downlink``, stored in edge.db for the kiosk). A message that is too large or
not what central sends is logged and ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from paho.mqtt.client import MQTTMessage
from pydantic import ValidationError

from . import clock
from .config import DeviceConfig
from .downlink import Downlink
from .inventory.load import Hook
from .inventory.sync import InventorySync
from .nudge import NudgeListener
from .outbox import Outbox
from .pickups.orders import replace_from_delta, replace_from_snapshot
from .protocol import Ack, Heartbeat, Status, dumps, topics, utcnow
from .protocol.envelope import MAX_HEARTBEAT_S
from .protocol.link import LinkOptions, MqttLink, NotConnected, Publication
from .protocol.store_data import Delta, Snapshot
from .sd_notify import Notifier
from .version import VERSION

log = logging.getLogger(__name__)

#: bytes of batch JSON around the events themselves
_BATCH_OVERHEAD = 256


@dataclass(slots=True)
class _Inflight:
    seqs: list[int]
    sent_at: float


@dataclass
class _Round:
    """What has been sent since the link came up (or since the last resend round)."""

    live_mark: int = 0  # seq > live_mark is live
    live_cursor: int = 0
    backlog_cursor: int = 0
    inflight: dict[str, _Inflight] = field(default_factory=dict)


def _snapshot_pickups(conn: sqlite3.Connection, snapshot: Snapshot) -> None:
    replace_from_snapshot(conn, snapshot)


def _delta_pickups(conn: sqlite3.Connection, delta: Delta) -> None:
    result = replace_from_delta(conn, delta)
    if result is None:
        return
    for i, order_id, reason in result.refused:
        log.warning("refused pickup upsert %d (order %s): %s", i, order_id or "?", reason)
    log.info(
        "pickups from delta %d→%d: stored %d orders, %d unchanged, %d withdrawn, %d refused",
        delta.from_version, delta.to_version, result.stored, result.unchanged,
        result.withdrawn, len(result.refused),
    )  # fmt: skip


class SyncDaemon:
    def __init__(self, cfg: DeviceConfig, inventory_hooks: Sequence[Hook] = ()) -> None:
        self.cfg = cfg
        d = cfg.device
        self.store_id, self.device_id = d.store_id, d.id
        self.outbox = Outbox.from_config(cfg)
        self._nudges = NudgeListener(cfg.db_path, self._wake_up)
        self.boot_id = clock.boot_id()
        self.started = time.monotonic()
        self._acks: queue.Queue[bytes] = queue.Queue()
        self.downlink = Downlink(self.store_id, cfg.db_path)
        # store data: its own thread, so HTTP fetches never hold up MQTT or the send loop;
        # the pickups due of a snapshot (or of a delta that carries them) go into the
        # pickup orders in the same transaction as the rest of it
        hooks = (_snapshot_pickups, *inventory_hooks)
        self.inventory = InventorySync.from_config(cfg, hooks, (_delta_pickups,))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._round = _Round()
        self._generation = 0  # bumped by every (re)connect
        self._seen_generation = 0
        self._ack_timeout = cfg.sync.ack_timeout_s
        self._next_heartbeat = 0.0
        self._last_heartbeat = 0.0
        self._reported_depth = 0
        self._link_recorded: str | None = None  # the link_state last written for the kiosk
        self._systemd = Notifier()  # only under a systemd unit (device_config/systemd/)
        self.sent_batches = 0
        self.acked_events = 0
        will = Publication(
            topics.status(self.store_id, self.device_id),
            self._status("offline", "connection lost"),
            1,
            True,
        )
        self.link = MqttLink(
            LinkOptions.from_settings(
                cfg.broker,
                client_id=self.device_id,
                will=will,
                subscriptions=[
                    (topics.ack(self.store_id, self.device_id), 1),
                    *self.downlink.subscriptions(),
                    *self.inventory.subscriptions(),
                ],
            ),
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            name=f"edge[{self.device_id}]",
        )

    # -- lifecycle ---------------------------------------------------------------

    def run(self) -> None:
        """Run until ``stop()`` (or SIGTERM/SIGINT when called from the main thread)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stop())
            signal.signal(signal.SIGINT, lambda *_: self.stop())
        if self.outbox.recovery is not None:
            log.warning("edge.db was corrupt and has been salvaged: %s", self.outbox.recovery)
        # the kiosk tells a killed daemon (its link_state frozen at "connected") by this
        self._set_state("daemon_pid", os.getpid())  # edge_sync.client.STATE_DAEMON_PID
        self.inventory.start()
        self.link.start()
        self._nudges.start()
        poll = self.cfg.sync.poll_interval_ms / 1000
        self._systemd.ready()
        try:
            while not self._stop.is_set():
                self._systemd.watchdog()
                # Cleared before the work: a nudge that lands during _tick is not lost.
                self._wake.clear()
                try:
                    self._tick()
                except Exception:
                    # A full disk or a locked database must not end sync: log, retry.
                    log.exception("sync loop error; retrying")
                    self._stop.wait(min(1.0, poll * 10))
                self._wake.wait(poll)
        finally:
            self._systemd.stopping()
            self._shutdown()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _wake_up(self) -> None:
        self._wake.set()

    def _shutdown(self) -> None:
        self._nudges.close()
        self._drain_acks()
        self.link.stop(
            final=[
                Publication(
                    topics.status(self.store_id, self.device_id),
                    self._status("offline", "shutdown"),
                    1,
                    True,
                )
            ]
        )
        self._set_state("link_state", "stopped")
        self.inventory.stop()
        self.downlink.close()
        self.outbox.close()

    # -- the send loop -------------------------------------------------------------

    def _tick(self) -> None:
        self._drain_acks()
        self.downlink.apply()
        if not self.link.connected:
            # the kiosk's status strip reads this: say so as soon as the link is down
            self._record_link("disconnected")
            return
        if self._seen_generation != self._generation:
            self._seen_generation = self._generation
            self._new_round("connected")
            self._publish_birth()
        now = time.monotonic()
        if self._round.inflight:
            oldest = min(i.sent_at for i in self._round.inflight.values())
            if now - oldest > self._ack_timeout:
                log.warning(
                    "no ack from central for %.1fs (%d batches in flight); resending",
                    now - oldest,
                    len(self._round.inflight),
                )
                self._ack_timeout = min(self._ack_timeout * 2, self.cfg.sync.ack_timeout_max_s)
                self._new_round("ack timeout")
        while len(self._round.inflight) < self.cfg.sync.inflight_batches:
            if not self._send_next_batch():
                break
        if now >= self._next_heartbeat:
            self._publish_heartbeat()
            self._next_heartbeat = now + self.cfg.sync.heartbeat_s

    def _new_round(self, why: str) -> None:
        mark = self.outbox.max_seq()
        self._round = _Round(live_mark=mark, live_cursor=mark, backlog_cursor=0)
        log.info("send round (%s): backlog up to seq %d", why, mark)

    def _send_next_batch(self) -> bool:
        s = self.cfg.sync
        r = self._round
        limit, max_bytes = s.batch_max_events, s.batch_max_bytes - _BATCH_OVERHEAD
        rows = self.outbox.fetch(r.live_cursor, limit, max_bytes)
        live = bool(rows)
        if not rows and r.backlog_cursor < r.live_mark:
            rows = self.outbox.fetch(r.backlog_cursor, limit, max_bytes, up_to_seq=r.live_mark)
        if not rows:
            return False
        batch_id = uuid.uuid4().hex
        body = b",".join(row.payload for row in rows)
        payload = b'{"batch_id":"%s","device_id":"%s","store_id":"%s","events":[%s]}' % (
            batch_id.encode(),
            self.device_id.encode(),
            self.store_id.encode(),
            body,
        )
        try:
            self.link.publish(topics.events(self.store_id, self.device_id), payload, qos=1)
        except NotConnected:
            return False
        last = rows[-1].seq
        if live:
            r.live_cursor = last
        else:
            r.backlog_cursor = last
        r.inflight[batch_id] = _Inflight([row.seq for row in rows], time.monotonic())
        self.sent_batches += 1
        return True

    # -- acks ------------------------------------------------------------------------

    def _on_message(self, msg: MQTTMessage) -> None:
        if self.inventory.offer(msg.topic, msg.payload):
            return
        if not self.downlink.offer(msg.topic, msg.payload):
            self._acks.put(msg.payload)
        self._wake.set()

    def _drain_acks(self) -> None:
        applied = 0
        while True:
            try:
                payload = self._acks.get_nowait()
            except queue.Empty:
                break
            try:
                ack = Ack.model_validate_json(payload)
            except ValidationError as err:
                log.error(
                    "ignoring a malformed ack from central (%s): %r",
                    err.error_count(),
                    payload[:200],
                )
                continue
            result = self.outbox.apply_ack(ack.acked, ack.rejected)
            self._round.inflight.pop(ack.batch_id or "", None)
            self._ack_timeout = self.cfg.sync.ack_timeout_s
            self.acked_events += sum(hi - lo + 1 for lo, hi in ack.acked)
            applied += 1
            for rej in ack.rejected:
                log.warning(
                    "central rejected seq %d: %s (%s)", rej.seq, rej.reason.value, rej.detail
                )
            log.debug("ack %s: %s", ack.batch_id, result)
        if not applied:
            return
        # Once per wake-up, not per ack: each write here is another fsync.
        self._set_state("last_ack_at", utcnow().isoformat())
        if self._reported_depth and self.outbox.max_seq() == 0:
            # The outbox just emptied: tell central now rather than at the next beat,
            # so the fleet view does not show a stale queue for a whole interval.
            self._next_heartbeat = min(self._next_heartbeat, self._last_heartbeat + 1.0)

    # -- link callbacks (loop thread) ----------------------------------------------------

    def _on_connect(self, _session_present: bool) -> None:
        self._generation += 1
        self._wake.set()

    def _on_disconnect(self, why: str) -> None:
        self._wake.set()

    # -- status and heartbeat --------------------------------------------------------------

    def _status(self, state: str, reason: str | None) -> bytes:
        recovery = self.outbox.recovery
        return dumps(
            Status(
                state=state,  # type: ignore[arg-type]
                reason=reason,
                version=VERSION,
                config_version=self.cfg.config_version,
                boot_id=self.boot_id,
                at=utcnow(),
                db_recovered=recovery.as_dict() if recovery is not None else None,
            )
        )

    def _record_link(self, state: str) -> None:
        if state != self._link_recorded and self._set_state("link_state", state):
            self._link_recorded = state  # a write (and an fsync) only on a change

    def _publish_birth(self) -> None:
        self._record_link("connected")
        with contextlib.suppress(NotConnected):
            self.link.publish(
                topics.status(self.store_id, self.device_id), self._status("online", None), 1, True
            )
        self._next_heartbeat = 0.0

    def heartbeat(self) -> Heartbeat:
        st = self.outbox.stats()
        try:
            disk_free = shutil.disk_usage(self.cfg.db_path.parent).free
        except OSError:
            disk_free = None
        return Heartbeat(
            at=utcnow(),
            boot_id=self.boot_id,
            version=VERSION,
            config_version=self.cfg.config_version,
            queue_depth=st.depth,
            queue_bytes=st.bytes,
            oldest_unsent_age_s=st.oldest_unsent_age_s,
            evicted_total=st.evicted_total,
            dead_letters=st.dead_letters,
            disk_free_bytes=disk_free,
            clock_synced=clock.clock_synced(self.cfg.clock.source),
            inflight_batches=len(self._round.inflight),
            uptime_s=round(time.monotonic() - self.started, 1),
            # central calls the device silent after three of these without a word
            heartbeat_s=min(self.cfg.sync.heartbeat_s, MAX_HEARTBEAT_S),
        )

    def _publish_heartbeat(self) -> None:
        hb = self.heartbeat()
        self._last_heartbeat = time.monotonic()
        self._reported_depth = hb.queue_depth
        with contextlib.suppress(NotConnected):
            self.link.publish(topics.heartbeat(self.store_id, self.device_id), dumps(hb), qos=0)

    def _set_state(self, key: str, value: Any) -> bool:
        try:
            self.outbox.set_state(key, value)
        except Exception:
            log.exception("could not record %s in edge.db", key)
            return False
        return True
