"""Claiming and recording deliveries, with explicit clocks: leases, lost attempts, races."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from central_api.domain.webhooks.webhooks import create_webhook
from central_api.store import write_transaction
from central_api.store.ops_tables import webhook_deliveries
from central_api.webhook_worker import Outcome, claim_due, record, release
from edge_sync.protocol import utcnow

from .conftest import FAST


def queue_one(engine: Engine) -> int:
    now = utcnow()
    with write_transaction(engine) as conn:
        hook, _secret = create_webhook(conn, "http://127.0.0.1:9/x", ["threshold.crossed"], now)
        return int(
            conn.execute(
                webhook_deliveries.insert()
                .values(webhook_id=hook.id, event_key="k", event_type="threshold.crossed",
                        payload={}, status="pending", attempts=0, next_attempt_at=now,
                        created_at=now)
                .returning(webhook_deliveries.c.id)
            ).scalar_one()
        )  # fmt: skip


def row(engine: Engine, delivery_id: int) -> tuple[str, int]:
    d = webhook_deliveries
    with engine.connect() as conn:
        r = conn.execute(select(d.c.status, d.c.attempts).where(d.c.id == delivery_id)).one()
    return r.status, r.attempts


def test_a_lost_attempt_is_retried_after_its_lease_and_counts(engine: Engine) -> None:
    did = queue_one(engine)
    t = utcnow()
    with write_transaction(engine) as conn:
        (first,) = claim_due(conn, t, FAST)
        assert claim_due(conn, t, FAST) == []  # leased: nobody else takes it
    assert first.attempt == 1 and row(engine, did) == ("pending", 1)
    # The worker dies without recording; once the lease ends another one takes it.
    later = t + timedelta(seconds=FAST.lease_s + 1)
    with write_transaction(engine) as conn:
        (second,) = claim_due(conn, later, FAST)
    assert second.attempt == 2
    # The first worker comes back late: its outcome no longer applies.
    with write_transaction(engine) as conn:
        assert record(conn, first, Outcome(200, None), later, FAST.retry) is None
    assert row(engine, did) == ("pending", 2)
    with write_transaction(engine) as conn:
        assert record(conn, second, Outcome(500, "HTTP 500"), later, FAST.retry) == "pending"
    # Attempt 3 is claimed and lost too: with 3 attempts spent the delivery fails.
    much_later = later + timedelta(hours=1)
    with write_transaction(engine) as conn:
        (third,) = claim_due(conn, much_later, FAST)
    assert third.attempt == 3
    with write_transaction(engine) as conn:
        assert claim_due(conn, much_later + timedelta(hours=1), FAST) == []
    assert row(engine, did) == ("failed", 3)


def test_a_stopping_worker_gives_back_what_it_did_not_try(engine: Engine) -> None:
    did = queue_one(engine)
    t = utcnow()
    with write_transaction(engine) as conn:
        (claimed,) = claim_due(conn, t, FAST)
        release(conn, claimed, t)
    assert row(engine, did) == ("pending", 0)
    with write_transaction(engine) as conn:
        assert [c.id for c in claim_due(conn, t, FAST)] == [did]
