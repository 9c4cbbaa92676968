"""What a pickup confirmed at a store does at central, through the real ingest path on
both backends: the order is picked_up at the store's time; a second confirmation is a
conflict record for staff and never a second handover; the earliest by store time is
the handover whatever order they arrive in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from central_api.domain.orders import records
from central_api.domain.orders.model import OrderIn
from central_api.domain.scoring.active_rules import active_rules
from central_api.domain.webhooks.webhooks import EVENT_TYPES, create_webhook
from central_api.ingest import Ingestor
from central_api.store.db import write_transaction
from central_api.store.ops_tables import webhook_deliveries, webhooks
from central_api.store.order_tables import order_conflicts, order_history, order_records
from central_api.store.profile_tables import profile_events
from edge_sync.protocol import Ack

from .support import confirmed, incoming, order_body

T_READY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 21, 10, 1, tzinfo=UTC)
T2 = datetime(2026, 11, 21, 10, 5, tzinfo=UTC)


def ready_order(engine, issuer, external_id: str = "WEB-1") -> str:
    with write_transaction(engine) as conn:
        if conn.execute(select(webhooks.c.id)).first() is None:
            create_webhook(conn, "http://127.0.0.1:9/hook", list(EVENT_TYPES), T_READY)
        row, _ = records.place(
            conn, OrderIn(**order_body(external_id)), "k1", T_READY, active_rules(conn)
        )
        records.ready(conn, row.id, issuer, "k1", T_READY)
    return row.id


def send(ingestor: Ingestor, evs: list[dict], device: str) -> Ack:
    (out,) = ingestor.process([incoming(evs, device)])
    return Ack.model_validate_json(out.payload)


def order(engine, order_id: str):
    with engine.connect() as c:
        return c.execute(select(order_records).where(order_records.c.id == order_id)).one()


def conflicts(engine) -> list:
    with engine.connect() as c:
        return c.execute(select(order_conflicts).order_by(order_conflicts.c.id)).all()


def announced(engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        d = webhook_deliveries
        return [tuple(r) for r in c.execute(select(d.c.event_type, d.c.event_key).order_by(d.c.id))]


def test_a_pickup_moves_the_order_to_picked_up_at_the_store_time(engine, issuer):
    ingestor = Ingestor(engine)
    oid = ready_order(engine, issuer)
    code = order(engine, oid).code_hash
    ev = confirmed(oid, T1, "s042-k1", 1, token_hash=code[:16])
    assert send(ingestor, [ev], "s042-k1").acked == [(1, 1)]
    row = order(engine, oid)
    assert (row.state, row.picked_up_at, row.picked_up_by, row.picked_up_device) == (
        "picked_up", T1, "st-1", "s042-k1",
    )  # fmt: skip
    with engine.connect() as c:
        hist = c.execute(select(order_history).where(order_history.c.order_id == oid)).all()
        owner = c.execute(
            select(profile_events.c.profile_id).where(profile_events.c.event_id == ev["id"])
        ).scalar_one()
    assert [(h.state, h.at, h.by, h.source) for h in hist][-1] == (
        "picked_up", T1, "st-1", "device:s042-k1",
    )  # fmt: skip
    assert owner == row.profile_id  # the pickup counts for the profile that placed it
    assert announced(engine) == [
        ("order.ready", f"order:{oid}:ready"), ("order.picked_up", f"order:{oid}:picked_up"),
    ]  # fmt: skip
    assert conflicts(engine) == []
    # the same event again (a resend) changes nothing
    assert send(ingestor, [ev], "s042-k1").acked == [(1, 1)]
    assert order(engine, oid).revision == row.revision and len(announced(engine)) == 2


@pytest.mark.parametrize("arrival", ["earliest_first", "earliest_last", "one_batch"])
def test_two_confirmations_give_one_handover_the_earliest_and_one_conflict(engine, issuer, arrival):
    ingestor = Ingestor(engine)
    oid = ready_order(engine, issuer)
    early = confirmed(oid, T1, "s042-k1", 1, staff="st-1")
    late = confirmed(oid, T2, "s042-k2", 1, staff="st-2")
    if arrival == "earliest_first":
        send(ingestor, [early], "s042-k1"), send(ingestor, [late], "s042-k2")
    elif arrival == "earliest_last":
        send(ingestor, [late], "s042-k2"), send(ingestor, [early], "s042-k1")
    else:
        ingestor.process([incoming([late], "s042-k2"), incoming([early], "s042-k1")])
    row = order(engine, oid)
    assert (row.state, row.pickup_event_id, row.picked_up_at, row.picked_up_by) == (
        "picked_up", early["id"], T1, "st-1",
    )  # fmt: skip
    (c,) = conflicts(engine)
    assert (c.kind, c.event_id, c.winner_event_id, c.store_id) == (
        "double_pickup", late["id"], early["id"], "s042",
    )  # fmt: skip
    assert c.detail["confirmation"]["device_id"] == "s042-k2"
    assert c.detail["winner"]["device_id"] == "s042-k1"
    assert c.message == (
        f"Order {oid} was confirmed as picked up twice: by staff st-1 on s042-k1 at "
        "2026-11-21T10:01:00.000Z (store time) and by staff st-2 on s042-k2 at "
        "2026-11-21T10:05:00.000Z (store time). The first, at 2026-11-21T10:01:00.000Z, is the "
        "handover; check with the staff at s042-k2 whether goods left the store a second time."
    )
    kinds = [t for t, _ in announced(engine)]
    assert kinds.count("order.picked_up") == 1  # never a second handover
    with engine.connect() as conn:
        d = webhook_deliveries
        payloads = [
            r.payload for r in conn.execute(select(d).where(d.c.event_type == "order.conflict"))
        ]
    if arrival == "earliest_last":
        # the later one was announced first; the conflict says the handover changed
        assert [p["data"]["winner_changed"] for p in payloads] == [True]
        assert payloads[0]["data"]["confirmation"]["event_id"] == late["id"]
    else:
        assert [p["data"]["winner_changed"] for p in payloads] == [False]
    assert payloads[-1]["data"]["pickup"]["event_id"] == early["id"]


def test_three_confirmations_in_every_arrival_order_end_the_same(engine, issuer):
    ingestor = Ingestor(engine)
    outcomes = set()
    for n, perm in enumerate(itertools.permutations(range(3))):
        oid = ready_order(engine, issuer, f"WEB-P{n}")
        evs = [
            confirmed(oid, T1 + timedelta(minutes=m), f"s042-k{m}", 100 * n + m + 1)
            for m in range(3)
        ]
        for i in perm:
            send(ingestor, [evs[i]], f"s042-k{i}")
        row = order(engine, oid)
        assert row.pickup_event_id == evs[0]["id"] and row.picked_up_at == T1
        mine = [c for c in conflicts(engine) if c.order_id == oid]
        outcomes.add(
            tuple(
                sorted(
                    (
                        c.event_id == evs[1]["id"],
                        c.event_id == evs[2]["id"],
                        c.winner_event_id == evs[0]["id"],
                    )
                    for c in mine
                )
            )
        )
    assert outcomes == {((False, True, True), (True, False, True))}


def test_confirmations_that_are_not_a_handover_are_conflicts_and_change_nothing(engine, issuer):
    ingestor = Ingestor(engine)
    cancelled = ready_order(engine, issuer, "WEB-C")
    with write_transaction(engine) as conn:
        records.cancel(conn, cancelled, "k1", T_READY)
    other = ready_order(engine, issuer, "WEB-O")
    evs = [
        confirmed("o-zzzzzzzz", T1, "s042-k1", 1),
        confirmed(cancelled, T1, "s042-k1", 2),
        confirmed(other, T1, "s042-k1", 3, token_hash="ab" * 8),
    ]
    ack = send(ingestor, evs, "s042-k1")
    assert ack.acked == [(1, 3)] and ack.rejected == []  # stored: they happened
    kinds = {c.order_id: c.kind for c in conflicts(engine)}
    assert kinds == {
        "o-zzzzzzzz": "unknown_order",
        cancelled: "order_cancelled",
        other: "wrong_code",
    }
    assert order(engine, cancelled).state == "cancelled"
    assert order(engine, other).state == "ready_for_pickup"
    msgs = {c.kind: c.message for c in conflicts(engine)}
    assert "central has no click-and-collect order o-zzzzzzzz" in msgs["unknown_order"]
    assert "it stays cancelled" in msgs["order_cancelled"]
    # no webhook for an order central does not know
    keys = [k for _, k in announced(engine)]
    assert f"order:{cancelled}:conflict:{evs[1]['id']}" in keys
    assert not any("o-zzzzzzzz" in k for k in keys)


def test_a_refusal_is_in_the_history_and_changes_nothing(engine, issuer):
    ingestor = Ingestor(engine)
    oid = ready_order(engine, issuer)
    ev = confirmed(oid, T1, "s042-k1", 1)
    ev.update(
        type="pickup.refused", data={"order_id": oid, "staff_id": "st-3", "reason": "id_mismatch"}
    )
    send(ingestor, [ev], "s042-k1")
    assert order(engine, oid).state == "ready_for_pickup"
    with engine.connect() as c:
        last = c.execute(select(order_history).order_by(order_history.c.id.desc())).first()
    assert (last.state, last.by, last.at, last.detail["reason"]) == (
        "refused",
        "st-3",
        T1,
        "id_mismatch",
    )


def test_a_pickup_after_the_no_show_sweep_still_counts_at_the_store_time(engine, issuer):
    from central_api.domain.orders.sweep import sweep

    ingestor = Ingestor(engine)
    oid = ready_order(engine, issuer)
    assert sweep(engine, 7, T_READY + timedelta(days=8)) == [oid]
    send(ingestor, [confirmed(oid, T_READY + timedelta(days=6), "s042-k1", 1)], "s042-k1")
    row = order(engine, oid)
    assert row.state == "picked_up" and row.picked_up_at == T_READY + timedelta(days=6)
    assert [t for t, _ in announced(engine)] == ["order.ready", "order.no_show", "order.picked_up"]
