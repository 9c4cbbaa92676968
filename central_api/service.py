"""Central's MQTT side: receive device messages, commit them, then ack.

Order of operations per group of messages (the exactly-once-in-effect rule):

1. the paho thread only queues what arrives (``manual_ack``: no PUBACK yet);
2. a preparer thread parses and validates them (``Ingestor.prepare``) while a commit
   thread writes an earlier group in one transaction (``Ingestor.commit``);
3. after the commit it publishes the acks to the devices, and only then sends the
   PUBACKs to the broker.

A crash anywhere before step 3 leaves the messages un-PUBACKed, so the broker
redelivers them (persistent session), and the devices resend what was never acked;
either way the unique keys make the second copy a no-op.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from paho.mqtt.client import MQTTMessage

from edge_sync.protocol import topics
from edge_sync.protocol.link import LinkOptions, MqttLink, NotConnected

from .config import CentralConfig
from .ingest import Incoming, Ingestor, Prepared, is_retryable

log = logging.getLogger(__name__)


#: allocations between young-generation collections (CPython's default is 700)
GC_GEN0_THRESHOLD = 10_000


def tune_gc() -> None:
    """Make the cyclic garbage collector fit an ingest process.

    Ingest allocates and drops millions of small objects a minute (parsed JSON, rows,
    facts) and keeps many long-lived ones (the profile cache). With CPython's default
    thresholds the collector ran every 700 allocations and took about a quarter of the
    worker's CPU (measured: 12,600 → 16,200 events/s on SQLite). Objects from start-up
    are frozen out of collections, and young collections run every 10,000 allocations;
    ingest creates no reference cycles that need collecting sooner.
    """
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


@dataclass(slots=True)
class _Received:
    mid: int
    qos: int
    incoming: Incoming
    #: the device the topic names ("" for a topic that names none)
    device: str


class _Lanes:
    """Which commit thread takes a device's messages: the one that already holds some
    (queued or being committed), so that a process never waits on itself over a
    device's sessions or device row; else the one with the fewest messages."""

    def __init__(self, n: int) -> None:
        self._lock = threading.Lock()
        self._load = [0] * n
        self._devices: dict[str, list[int]] = {}  # device → [lane, messages held]

    def assign(self, device: str, messages: int) -> int:
        with self._lock:
            held = self._devices.get(device)
            if held is None:
                lane = min(range(len(self._load)), key=self._load.__getitem__)
                held = self._devices[device] = [lane, 0]
            held[1] += messages
            self._load[held[0]] += messages
            return held[0]

    def release(self, device: str, messages: int) -> None:
        with self._lock:
            held = self._devices[device]
            held[1] -= messages
            self._load[held[0]] -= messages
            if held[1] <= 0:
                del self._devices[device]


@dataclass(slots=True)
class _Ready:
    items: list[_Received]
    #: None when preparing them failed (a bug): they are then committed one by one
    prepared: Prepared | None


class IngestService:
    def __init__(self, cfg: CentralConfig, ingestor: Ingestor) -> None:
        self.cfg = cfg
        self.ingestor = ingestor
        self._queue: queue.Queue[_Received] = queue.Queue()
        self._stop = threading.Event()
        #: parsed and validated groups waiting, one queue per commit thread (bounded:
        #: memory)
        self._prepared: list[queue.Queue[_Ready]] = [
            queue.Queue(maxsize=4) for _ in range(self.commit_threads)
        ]
        self._lanes = _Lanes(len(self._prepared))
        self._preparer: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._count_lock = threading.Lock()
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

    @property
    def commit_threads(self) -> int:
        """SQLite commits one transaction at a time whatever we do: one thread there."""
        sqlite = self.ingestor.engine.dialect.name == "sqlite"
        return 1 if sqlite else self.cfg.ingest.commit_threads

    def start(self) -> None:
        self._preparer = threading.Thread(
            target=self._prepare_loop, name="central-ingest-prepare", daemon=True
        )
        self._workers = [
            threading.Thread(
                target=self._work, args=(n,), name=f"central-ingest-commit-{n}", daemon=True
            )
            for n in range(len(self._prepared))
        ]
        self._preparer.start()
        for t in self._workers:
            t.start()
        self.link.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for t in (self._preparer, *self._workers):
            if t is not None:
                t.join(timeout)
        self.link.stop(timeout=timeout)
        log.info("ingest stopped: %d messages processed", self.processed_messages)

    @property
    def healthy(self) -> bool:
        threads = (self._preparer, *self._workers)
        alive = bool(self._workers) and all(t is not None and t.is_alive() for t in threads)
        return self.link.connected and alive

    # -- paho thread ------------------------------------------------------------------

    def _on_message(self, msg: MQTTMessage) -> None:
        self._queue.put(
            _Received(
                msg.mid,
                msg.qos,
                Incoming(msg.topic, msg.payload, datetime.now(UTC)),
                up.device_id if (up := topics.parse_up(msg.topic)) is not None else "",
            )
        )

    # -- worker -------------------------------------------------------------------------

    # The preparer parses and validates the next group while a commit thread writes the
    # current one (the database releases the GIL while it works); a commit thread takes
    # whatever is prepared, up to max_messages_per_commit, as one transaction. On
    # PostgreSQL several commit threads keep transactions in flight at once, like that
    # many worker processes would (effects are order-independent and profiles locked);
    # see ``_Lanes`` for which one takes a device's messages.

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

    def _prepare_loop(self) -> None:
        while not self._stop.is_set():
            items = self._take_group()
            by_device: dict[str, list[_Received]] = {}
            for item in items:
                by_device.setdefault(item.device, []).append(item)
            by_lane: dict[int, list[_Received]] = {}
            for device, part in by_device.items():
                by_lane.setdefault(self._lanes.assign(device, len(part)), []).extend(part)
            for lane, part in by_lane.items():
                self._hand_over(lane, part)

    def _hand_over(self, lane: int, items: list[_Received]) -> None:
        try:
            prepared: Prepared | None = self.ingestor.prepare([i.incoming for i in items])
        except Exception:
            log.exception("could not prepare %d messages; committing them one by one", len(items))
            prepared = None
        while not self._stop.is_set():
            try:
                self._prepared[lane].put(_Ready(items, prepared), timeout=0.2)
                return
            except queue.Full:
                continue

    def _take_prepared(self, lane: int) -> _Ready | None:
        prepared = self._prepared[lane]
        try:
            ready = prepared.get(timeout=0.2)
        except queue.Empty:
            return None
        limit = self.cfg.ingest.max_messages_per_commit
        while ready.prepared is not None and len(ready.items) < limit:
            try:
                more = prepared.get_nowait()
            except queue.Empty:
                break
            if more.prepared is None:
                # cannot be merged: commit what we have, then that one on its own
                self._commit_ready(ready)
                return more
            ready.prepared.merge(more.prepared)
            ready.items += more.items
        return ready

    def _work(self, lane: int) -> None:
        while not self._stop.is_set():
            ready = self._take_prepared(lane)
            if ready is not None:
                self._commit_ready(ready)

    def _commit_ready(self, ready: _Ready) -> None:
        try:
            self._commit_until_done(ready)
        finally:
            for item in ready.items:
                self._lanes.release(item.device, 1)

    def _commit_until_done(self, ready: _Ready) -> None:
        """Commit a prepared group. While the database is away, retry it (prepared again:
        an attempt uses a prepared group up) with backoff until it goes through or central
        stops; on any other error, isolate the message that causes it."""
        pending, prepared = ready.items, ready.prepared
        backoff = 0.1
        while pending and not self._stop.is_set():
            if prepared is None:
                # Preparing failed (a bug), or the last attempt did: one message at a time.
                pending = self._one_by_one(pending)
                if pending:  # stopped at a database error: the rest waits, as a group
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    prepared = self._prepare_again(pending)
                continue
            try:
                self._commit_and_ack(pending, prepared)
                self.last_error = None
                return
            except Exception as err:
                prepared = None
                if not is_retryable(err):
                    log.exception(
                        "ingest failed on a group of %d messages; retrying one by one",
                        len(pending),
                    )
                    continue
                # Database away, busy or full: keep the group (nothing was acked), retry.
                self.last_error = f"database: {getattr(err, 'orig', None) or err}"
                log.warning("ingest commit failed, retrying in %.1fs: %s", backoff, err)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                prepared = self._prepare_again(pending)

    def _prepare_again(self, items: list[_Received]) -> Prepared | None:
        try:
            return self.ingestor.prepare([i.incoming for i in items])
        except Exception:
            log.exception("could not prepare %d messages again", len(items))
            return None

    def _one_by_one(self, group: list[_Received]) -> list[_Received]:
        """Isolate a message that cannot be processed so it does not hold back the rest.

        A message that fails on its own is kept as an ``ingest_error`` dead letter and
        gets its PUBACK (so it cannot fill the broker's in-flight window) but no ack to
        the device: the device keeps those events in its outbox, resends them, and they
        show at central as queue depth and oldest unsent age. Nothing is dropped.
        """
        for i, item in enumerate(group):
            try:
                self._commit_and_ack([item], self.ingestor.prepare([item.incoming]))
            except Exception as err:
                if is_retryable(err):
                    return group[i:]  # the database, not the message: retry later
                log.exception(
                    "could not ingest a message on %s; kept as a dead letter, the device "
                    "will resend it",
                    item.incoming.topic,
                )
                try:
                    self.ingestor.dead_letter_failed(item.incoming, err)
                except Exception as again:
                    if is_retryable(again):
                        return group[i:]
                    log.exception("could not keep the failed message as a dead letter")
                self.link.ack(item.mid, item.qos)
                with self._count_lock:
                    self.processed_messages += 1
        return []

    def _commit_and_ack(self, group: list[_Received], prepared: Prepared) -> None:
        acks = self.ingestor.commit(prepared)
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
        with self._count_lock:
            self.processed_messages += len(group)
