"""Two transactions that each hold one side of a link (a session's QR link and the
session's other events; an order and its pickup) cannot both miss the other: the
second waits for the first to commit, then sees it (PostgreSQL; SQLite has one writer)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text

from central_api.domain.fleet.counters import DeviceTypeCounts
from central_api.domain.online.online import ingest_online
from central_api.domain.profiles.profile_effects import ProfileEffects
from central_api.domain.scoring.active_rules import active_rules
from central_api.ingest import Ingestor
from central_api.store import make_engine, migrate
from central_api.store.profile_tables import profile_events
from tests.central.helpers import batch_msg
from tests.central.test_profiles import shopper_session
from tests.support.waiting import wait_for

pytestmark = pytest.mark.postgres


class _Hold:
    """An effect that keeps its transaction open until released (once)."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()

    def apply(self, conn, new_events, received_at) -> None:
        if not self.release.is_set():
            conn.execute(text("SELECT 1"))
            self.holding.set()
            assert self.release.wait(30)


@pytest.fixture
def pg_engine(pg_url: str):
    engine = make_engine(pg_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND state = 'active'"
                )
            )
        )


def _race(engine: Engine, first, second) -> None:
    """Run ``first`` until it holds its transaction open, then ``second``; release
    ``first`` once ``second`` is done or waiting for a lock."""
    hold = _Hold()
    errors: list[BaseException] = []

    def run(fn) -> threading.Thread:
        def target() -> None:
            try:
                fn(hold)
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=target)
        t.start()
        return t

    a = run(first)
    assert hold.holding.wait(30)
    b = run(second)
    wait_for(
        lambda: not b.is_alive() or _waiting_on_a_lock(engine),
        timeout=30,
        message="the second transaction finished or waits for the first",
    )
    hold.release.set()
    a.join(30)
    b.join(30)
    assert not errors, errors


def _attached(engine: Engine, profile: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count())
            .select_from(profile_events)
            .where(profile_events.c.profile_id == profile)
        )


def test_a_link_and_the_sessions_other_events_in_concurrent_transactions(
    pg_engine: Engine,
) -> None:
    session = shopper_session(1, "sess-x", "prof-x", True, "s1-k1")
    link_at = next(i for i, e in enumerate(session) if e["type"] == "visit.linked")
    with_link, others = session[: link_at + 2], session[link_at + 2 :]  # link + consent

    def first(hold: _Hold) -> None:
        effects = (ProfileEffects(), DeviceTypeCounts(), hold)
        Ingestor(pg_engine, effects).process([batch_msg(with_link, "b1", device="s1-k1")])

    def second(_hold: _Hold) -> None:
        Ingestor(pg_engine).process([batch_msg(others, "b2", device="s1-k1")])

    _race(pg_engine, first, second)
    assert _attached(pg_engine, "prof-x") == len(session)


def test_an_order_and_its_pickup_in_concurrent_transactions(pg_engine: Engine) -> None:
    pickup = {
        "id": "0192f0c4-0000-7000-8000-00000000a001", "seq": 1, "type": "pickup.confirmed",
        "v": 1, "store_id": "s1", "device_id": "s1-k1",
        "occurred_at": "2026-11-23T12:00:00.000Z", "mono_ns": 1, "boot_id": "b",
        "clock_synced": True, "session_id": None,
        "data": {"order_id": "o-77", "staff_id": "st-1", "items": 2, "method": "qr"},
    }  # fmt: skip
    order = {
        "id": "0192f0c4-0000-7000-8000-00000000b001", "type": "order.placed", "v": 1,
        "source": "shop", "channel": "web", "occurred_at": "2026-11-22T09:00:00.000Z",
        "customer_id": "C-77",
        "data": {"order_id": "o-77", "value": 59.0, "items": 2,
                 "pickup_store_id": "s1"},
    }  # fmt: skip

    def first(hold: _Hold) -> None:
        effects = (ProfileEffects(), DeviceTypeCounts(), hold)
        Ingestor(pg_engine, effects).process([batch_msg([pickup], "b1", device="s1-k1")])

    def second(_hold: _Hold) -> None:
        with pg_engine.connect() as conn:
            active = active_rules(conn)
        got = ingest_online(pg_engine, [order], datetime.now(UTC), active)
        assert got.accepted == [order["id"]], got

    _race(pg_engine, first, second)
    with pg_engine.connect() as conn:
        owners = set(
            conn.scalars(
                select(profile_events.c.profile_id).where(profile_events.c.event_id == pickup["id"])
            )
        )
    assert len(owners) == 1, "the pickup belongs to whoever placed the order"
