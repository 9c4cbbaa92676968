"""Outgoing webhooks: subscriptions, the delivery outbox, and how deliveries are signed.

When a threshold with ``webhook = true`` fires, ``enqueue_new_crossings`` inserts one
delivery row per subscribed webhook, in the transaction that derived the crossing (an
outbox: the announcement exists if and only if the crossing was committed). The worker
(``central_api.webhook_worker``) sends them afterwards, at least once, so receivers
should deduplicate on ``key`` (or the ``X-Omk-Delivery`` header).

Once per crossing: a crossing is identified by (profile, threshold, the event that
crossed), and ``(webhook_id, event_key)`` is unique, so re-deriving a profile, a rules
change or a resent event never announces the same crossing twice. Only crossings that
were not stored before for the profile are offered at all (a cheap pre-filter). A
crossing that later disappears (a late event lowers the score, consent is revoked, the
rules change) is *not* un-sent: a webhook announces that something happened, and there
is no retraction message. A rules change that makes new crossings appear (a lower
threshold) does announce them, with their original ``crossed_at``.
"""

from __future__ import annotations

import hmac
import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from ...store.ops_tables import webhook_deliveries, webhooks
from ...store.profile_tables import threshold_crossings
from ...store.sql import insert_ignore
from ..identity.erasure import EXTRA_CLEANERS
from ..scoring.rules import RuleSet
from ..scoring.thresholds import Crossing

THRESHOLD_CROSSED = "threshold.crossed"
#: click-and-collect outcomes (``domain.orders.announce``)
ORDER_EVENT_TYPES = ("order.ready", "order.picked_up", "order.no_show", "order.conflict")
#: event types a webhook can subscribe to
EVENT_TYPES = (THRESHOLD_CROSSED, *ORDER_EVENT_TYPES)

SIGNATURE_HEADER = "X-Omk-Signature"
TIMESTAMP_HEADER = "X-Omk-Timestamp"
DELIVERY_HEADER = "X-Omk-Delivery"
EVENT_HEADER = "X-Omk-Event"

SECRET_PREFIX = "whsec_"


class WebhookNotFound(Exception):
    def __init__(self, webhook_id: int) -> None:
        super().__init__(f"no webhook with id {webhook_id}")
        self.webhook_id = webhook_id


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


def _webhook(row: Any) -> Webhook:
    return Webhook(row.id, row.url, list(row.events), row.active, row.created_at)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def create_webhook(
    conn: Connection, url: str, events: Sequence[str], now: datetime
) -> tuple[Webhook, str]:
    """A new subscription and its signing secret (which only this call returns)."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    secret = new_secret()
    row = conn.execute(
        webhooks.insert()
        .values(url=url, secret=secret, events=sorted(set(events)), active=True, created_at=now)
        .returning(*webhooks.c)
    ).one()
    return _webhook(row), secret


def list_webhooks(conn: Connection, limit: int, after_id: int | None = None) -> list[Webhook]:
    query = select(webhooks).order_by(webhooks.c.id).limit(limit)
    if after_id is not None:
        query = query.where(webhooks.c.id > after_id)
    return [_webhook(r) for r in conn.execute(query)]


def get_webhook(conn: Connection, webhook_id: int) -> Webhook:
    row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
    if row is None:
        raise WebhookNotFound(webhook_id)
    return _webhook(row)


def delete_webhook(conn: Connection, webhook_id: int) -> None:
    """Remove a webhook, its secret and its delivery log; pending deliveries are not sent."""
    get_webhook(conn, webhook_id)
    conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
    conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


def list_deliveries(
    conn: Connection,
    webhook_id: int,
    limit: int,
    before_id: int | None = None,
    status: str | None = None,
) -> list[Any]:
    """The delivery log of a webhook, newest first."""
    d = webhook_deliveries
    query = select(d).where(d.c.webhook_id == webhook_id).order_by(d.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(d.c.id < before_id)
    if status is not None:
        query = query.where(d.c.status == status)
    return list(conn.execute(query))


# -- the outbox ---------------------------------------------------------------------------


def crossing_key(profile_id: str, threshold_id: str, event_id: str) -> str:
    return f"threshold:{profile_id}:{threshold_id}:{event_id}"


def crossing_payload(
    profile_id: str, c: Crossing, rules_version: str, now: datetime
) -> dict[str, Any]:
    return {
        "type": THRESHOLD_CROSSED,
        "key": crossing_key(profile_id, c.threshold_id, c.event_id),
        "created_at": now.isoformat(),
        "data": {
            "profile_id": profile_id,
            "threshold_id": c.threshold_id,
            "stage": c.stage,
            "score": c.score,
            "crossed_at": c.at.isoformat(),
            "event_id": c.event_id,
            "rules_version": rules_version,
        },
    }


def enqueue_new_crossings(
    conn: Connection, profile_id: str, found: Sequence[Crossing], rules: RuleSet, now: datetime
) -> int:
    """Queue deliveries for the crossings in ``found`` not yet stored for the profile.

    Call it inside the deriving transaction *before* ``threshold_crossings`` is rewritten,
    since the stored rows are what "new" is measured against. Returns the rows queued.
    """
    announce = {t.id for t in rules.thresholds if t.webhook}
    offered = [c for c in found if c.threshold_id in announce]
    if not offered:
        return 0
    tc = threshold_crossings
    stored = {
        (r.threshold_id, r.event_id)
        for r in conn.execute(
            select(tc.c.threshold_id, tc.c.event_id).where(tc.c.profile_id == profile_id)
        )
    }
    new = [c for c in offered if (c.threshold_id, c.event_id) not in stored]
    if not new:
        return 0
    targets = [
        h.id
        for h in conn.execute(select(webhooks.c.id, webhooks.c.events).where(webhooks.c.active))
        if THRESHOLD_CROSSED in h.events
    ]
    rows = [
        {"webhook_id": hook, "event_key": crossing_key(profile_id, c.threshold_id, c.event_id),
         "event_type": THRESHOLD_CROSSED, "profile_id": profile_id,
         "payload": crossing_payload(profile_id, c, rules.version, now), "status": "pending",
         "attempts": 0, "next_attempt_at": now, "created_at": now}
        for hook in targets
        for c in new
    ]  # fmt: skip
    if rows:
        conn.execute(insert_ignore(conn, webhook_deliveries), rows)
    return len(rows)


def enqueue(
    conn: Connection,
    event_type: str,
    key: str,
    data: dict[str, Any],
    now: datetime,
    profile_id: str | None = None,
) -> int:
    """Queue one delivery of ``{"type", "key", "created_at", "data"}`` per active webhook
    subscribed to ``event_type``, in the caller's transaction. ``key`` names what is
    announced: a second call with the same key queues nothing (once per webhook and
    key). Returns the rows offered (those already queued are left as they are)."""
    assert event_type in EVENT_TYPES, event_type
    targets = [
        h.id
        for h in conn.execute(select(webhooks.c.id, webhooks.c.events).where(webhooks.c.active))
        if event_type in h.events
    ]
    if not targets:
        return 0
    payload = {"type": event_type, "key": key, "created_at": now.isoformat(), "data": data}
    rows = [
        {"webhook_id": hook, "event_key": key, "event_type": event_type, "profile_id": profile_id,
         "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now,
         "created_at": now}
        for hook in targets
    ]  # fmt: skip
    conn.execute(insert_ignore(conn, webhook_deliveries), rows)
    return len(rows)


def forget_profiles(
    conn: Connection, profile_ids: Sequence[str], _identifiers: Sequence[str] = ()
) -> dict[str, int]:
    """Erasure: delete every delivery naming one of the profiles, sent or not."""
    d = webhook_deliveries
    result = conn.execute(delete(d).where(d.c.profile_id.in_(list(profile_ids))))
    return {"webhook_deliveries": result.rowcount or 0}


EXTRA_CLEANERS.append(forget_profiles)


# -- signing and retries ------------------------------------------------------------------


def body_bytes(payload: Any) -> bytes:
    """The exact bytes sent (and signed): compact, key-sorted JSON."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>." + body>``, keyed by the whole secret.

    The timestamp is inside the signed bytes so a captured request cannot be replayed
    later with a fresh ``X-Omk-Timestamp``.
    """
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, "sha256")
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, now_s: float, tolerance_s: float
) -> bool:
    """What a receiver checks: the signature, and a timestamp within ``tolerance_s``."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits about ``base_s × 2^(n-1)``."""

    max_attempts: int = 8
    base_s: float = 10.0
    max_s: float = 3600.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): half fixed, half
        random, so receivers coming back up are not hit by every retry at once."""
        full = min(self.max_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return full / 2 + (rng or random).uniform(0, full / 2)
