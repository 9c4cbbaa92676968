"""Central's MQTT side: receive device messages, commit them, then ack.

Order of operations per group of messages (the exactly-once-in-effect rule):

1. the paho thread only queues what arrives (``manual_ack``: no PUBACK yet);
2. the worker commits the whole group in one transaction (``Ingestor.process``);
3. after the commit it publishes the acks to the devices, and only then sends the
   PUBACKs to the broker.

A crash anywhere before step 3 leaves the messages un-PUBACKed, so the broker
redelivers them (persistent session), and the devices resend what was never acked;
either way the unique keys make the second copy a no-op.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from paho.mqtt.client import MQTTMessage

from edge_sync.protocol import topics
from edge_sync.protocol.link import LinkOptions, MqttLink, NotConnected

from .config import CentralConfig
from .ingest import Incoming, Ingestor, is_retryable

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Received:
    mid: int
    qos: int
    incoming: Incoming


class IngestService:
    def __init__(self, cfg: CentralConfig, ingestor: Ingestor) -> None:
        self.cfg = cfg
        self.ingestor = ingestor
        self._queue: queue.Queue[_Received] = queue.Queue()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.processed_messages = 0
        self.last_error: str | None = None
        v5 = cfg.broker.protocol == "5"
        filters = topics.central_filters()
        subs = [(topics.shared(f, cfg.ingest.share_group) if v5 else f, 1) for f in filters]
        self.link = MqttLink(
            LinkOptions.from_settings(
                cfg.broker,
                client_id=cfg.ingest.client_id,
                clean_start=False,
                subscriptions=subs,
                manual_ack=True,
            ),
            on_message=self._on_message,
            name="central-ingest",
        )

    def start(self) -> None:
        self._worker = threading.Thread(
            target=self._work, name="central-ingest-worker", daemon=True
        )
        self._worker.start()
        self.link.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout)
        self.link.stop(timeout=timeout)
        log.info("ingest stopped: %d messages processed", self.processed_messages)

    @property
    def healthy(self) -> bool:
        return self.link.connected and self._worker is not None and self._worker.is_alive()

    # -- paho thread ------------------------------------------------------------------

    def _on_message(self, msg: MQTTMessage) -> None:
        self._queue.put(
            _Received(msg.mid, msg.qos, Incoming(msg.topic, msg.payload, datetime.now(UTC)))
        )

    # -- worker -------------------------------------------------------------------------

    def _take_group(self) -> list[_Received]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        group = [first]
        limit = self.cfg.ingest.max_messages_per_commit
        while len(group) < limit:
            try:
                group.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return group

    def _work(self) -> None:
        pending: list[_Received] = []
        backoff = 0.1
        while not self._stop.is_set():
            if not pending:
                pending = self._take_group()
                if not pending:
                    continue
            try:
                self._commit_and_ack(pending)
                pending = []
                backoff = 0.1
                self.last_error = None
            except Exception as err:
                if is_retryable(err):
                    # Database away, busy or full: keep the group (nothing was acked), retry.
                    self.last_error = f"database: {getattr(err, 'orig', None) or err}"
                    log.warning("ingest commit failed, retrying in %.1fs: %s", backoff, err)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                log.exception(
                    "ingest failed on a group of %d messages; retrying one by one", len(pending)
                )
                pending = self._one_by_one(pending)

    def _one_by_one(self, group: list[_Received]) -> list[_Received]:
        """Isolate a message that cannot be processed so it does not hold back the rest.

        A message that fails on its own gets its PUBACK (so it cannot fill the broker's
        in-flight window) but no ack to the device: the device keeps those events in
        its outbox, resends them, and they show at central as queue depth and oldest
        unsent age. Nothing is dropped.
        """
        for i, item in enumerate(group):
            try:
                self._commit_and_ack([item])
            except Exception as err:
                if is_retryable(err):
                    return group[i:]  # the database, not the message: retry later
                log.exception(
                    "could not ingest a message on %s; the device will resend it",
                    item.incoming.topic,
                )
                self.link.ack(item.mid, item.qos)
        return []

    def _commit_and_ack(self, group: list[_Received]) -> None:
        acks = self.ingestor.process([g.incoming for g in group])
        for out in acks:
            try:
                self.link.publish(out.topic, out.payload, qos=1)
            except NotConnected:
                # The device times out and resends; central re-acks from the dedup.
                log.info("link down; ack for %s not sent", out.topic)
        for g in group:
            try:
                self.link.ack(g.mid, g.qos)
            except Exception:
                log.debug("PUBACK for mid %d not sent (link down)", g.mid)
        self.processed_messages += len(group)
