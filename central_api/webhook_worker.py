"""Sends queued webhook deliveries: claim, POST, record — each step its own short step.

1. Claim (one short write transaction): take up to ``batch_size`` due deliveries,
   count the attempt, and push ``next_attempt_at`` out by a lease. On PostgreSQL the
   select is ``FOR UPDATE SKIP LOCKED``, so workers in several central processes take
   different rows; on SQLite the write transaction itself (``BEGIN IMMEDIATE``) does it.
2. POST outside any transaction: a slow receiver never holds a database lock (on
   SQLite that lock would stop ingest).
3. Record (another short transaction): 2xx → delivered; anything else → retried after
   ``RetryPolicy.delay`` until ``max_attempts``, then failed. The update only applies
   while the attempt count is still the one claimed, so a worker whose lease ran out
   cannot overwrite a newer attempt's outcome.

A worker that dies between 1 and 3 leaves the delivery pending; it is tried again when
the lease ends, and that lost attempt counts. Deliveries are at least once: receivers
deduplicate on the payload's ``key`` or ``X-Omk-Delivery``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import Connection, Engine, select, update

from edge_sync.protocol import utcnow
from edge_sync.version import VERSION

from .domain.webhooks.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RetryPolicy,
    body_bytes,
    sign,
)
from .ingest import is_retryable
from .store.db import write_transaction
from .store.ops_tables import webhook_deliveries, webhooks
from .store.sql import clean_text

log = logging.getLogger(__name__)

_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    poll_interval_s: float = 1.0
    #: (connect, read) timeout of one POST
    timeout_s: float = 10.0
    batch_size: int = 10
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def lease_s(self) -> float:
        """How long a claimed batch stays with its worker: long enough to POST it all."""
        return self.batch_size * self.timeout_s * 2 + 30.0


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    url: str
    secret: str
    event_type: str
    payload: Any
    #: this attempt's number (1-based)
    attempt: int


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _due(now: datetime) -> Any:
    d = webhook_deliveries
    return (
        select(d.c.id, d.c.attempts, d.c.event_type, d.c.payload, webhooks.c.url, webhooks.c.secret)
        .join(webhooks, webhooks.c.id == d.c.webhook_id)
        .where(d.c.status == "pending", d.c.next_attempt_at <= now, webhooks.c.active)
        .order_by(d.c.next_attempt_at, d.c.id)
    )


def any_due(conn: Connection, now: datetime) -> bool:
    return conn.execute(_due(now).limit(1)).first() is not None


def claim_due(conn: Connection, now: datetime, settings: WorkerSettings) -> list[Claimed]:
    d = webhook_deliveries
    query = _due(now).limit(settings.batch_size)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=d)
    rows = conn.execute(query).all()
    limit = settings.retry.max_attempts
    # A worker that stopped mid-attempt left no outcome; its lost attempt still counts.
    spent = [r.id for r in rows if r.attempts >= limit]
    if spent:
        conn.execute(
            update(d)
            .where(d.c.id.in_(spent))
            .values(status="failed", next_attempt_at=None, last_error="no outcome recorded")
        )
    claimed = [r for r in rows if r.attempts < limit]
    if claimed:
        conn.execute(
            update(d)
            .where(d.c.id.in_([r.id for r in claimed]))
            .values(
                attempts=d.c.attempts + 1,
                next_attempt_at=now + timedelta(seconds=settings.lease_s),
            )
        )
    return [
        Claimed(r.id, r.url, r.secret, r.event_type, r.payload, r.attempts + 1) for r in claimed
    ]


def record(
    conn: Connection,
    c: Claimed,
    outcome: Outcome,
    now: datetime,
    retry: RetryPolicy,
    rng: random.Random | None = None,
) -> str | None:
    """Store an attempt's outcome; returns the delivery's new status, or None when the
    delivery has moved on meanwhile (lease expired and re-claimed, webhook deleted)."""
    d = webhook_deliveries
    values: dict[str, Any] = {"last_status_code": outcome.status_code}
    if outcome.ok:
        status = "delivered"
        values.update(delivered_at=now, next_attempt_at=None, last_error=None)
    elif c.attempt >= retry.max_attempts:
        status = "failed"
        values.update(next_attempt_at=None, last_error=outcome.error)
    else:
        status = "pending"
        delay = retry.delay(c.attempt, rng)
        values.update(next_attempt_at=now + timedelta(seconds=delay), last_error=outcome.error)
    applied = conn.execute(
        update(d)
        .where(d.c.id == c.id, d.c.attempts == c.attempt, d.c.status == "pending")
        .values(status=status, **values)
    ).rowcount
    return status if applied else None


def release(conn: Connection, c: Claimed, now: datetime) -> None:
    """Give back a claimed delivery that was not attempted (the worker is stopping)."""
    d = webhook_deliveries
    conn.execute(
        update(d)
        .where(d.c.id == c.id, d.c.attempts == c.attempt, d.c.status == "pending")
        .values(attempts=c.attempt - 1, next_attempt_at=now)
    )


class WebhookWorker:
    """A thread that sends due deliveries until ``stop``. Safe to run in every process."""

    def __init__(self, engine: Engine, settings: WorkerSettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or WorkerSettings()
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._rng = random.Random()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="central-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._session.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
                self.last_error = None
            except Exception as err:
                busy = False
                if is_retryable(err):
                    self.last_error = f"database: {getattr(err, 'orig', None) or err}"
                    log.warning("webhook worker: database unavailable, retrying: %s", err)
                else:
                    self.last_error = repr(err)
                    log.exception("webhook worker: unexpected error; continuing")
            if not busy:
                self._stop.wait(self.settings.poll_interval_s)

    def run_once(self) -> int:
        """Claim and attempt one batch; returns how many deliveries were claimed."""
        now = utcnow()
        with self.engine.connect() as conn:  # a read first: an idle poll takes no write lock
            if not any_due(conn, now):
                return 0
        with write_transaction(self.engine) as conn:
            batch = claim_due(conn, now, self.settings)
        for i, c in enumerate(batch):
            if self._stop.is_set():
                with write_transaction(self.engine) as conn:
                    for rest in batch[i:]:
                        release(conn, rest, utcnow())
                break
            outcome = self.send(c)
            with write_transaction(self.engine) as conn:
                status = record(conn, c, outcome, utcnow(), self.settings.retry, self._rng)
            log.info(
                "webhook delivery %d attempt %d: %s (%s)",
                c.id, c.attempt, outcome.error or "ok", status or "outcome superseded",
            )  # fmt: skip
        return len(batch)

    def send(self, c: Claimed) -> Outcome:
        body = body_bytes(c.payload)
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"omnikiosk-central/{VERSION}",
            SIGNATURE_HEADER: sign(c.secret, ts, body),
            TIMESTAMP_HEADER: str(ts),
            DELIVERY_HEADER: str(c.id),
            EVENT_HEADER: c.event_type,
        }
        try:
            with self._session.post(
                c.url,
                data=body,
                headers=headers,
                timeout=self.settings.timeout_s,
                allow_redirects=False,  # a redirect is an answer, not a delivery
                stream=True,  # read at most a little of the answer
            ) as r:
                if 200 <= r.status_code < 300:
                    return Outcome(r.status_code, None)
                raw = r.raw.read(200, decode_content=False) or b""
                text = raw.decode("utf-8", "replace").strip()
                error = f"HTTP {r.status_code}" + (f": {text}" if text else "")
                return Outcome(r.status_code, clean_text(error, _ERROR_CHARS))
        except (requests.RequestException, OSError) as err:
            return Outcome(None, clean_text(f"{type(err).__name__}: {err}", _ERROR_CHARS))
