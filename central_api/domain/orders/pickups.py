"""What a ``pickup.confirmed`` or ``pickup.refused`` from a store does to its order, in
the ingest transaction that stored the event (only when the event is new).

The handover is the earliest confirmation by the store's time, ``(occurred_at,
event_id)``, whatever order the confirmations arrive in: devices that were offline
upload late, and a later upload may carry the earlier handover. Every confirmation is
kept (``order_confirmations``); each one that is not the handover is a conflict record
for staff, never a second handover. When an earlier one arrives after a later one was
taken, the earlier takes its place and the later becomes the conflict, so the stored
outcome is the same for every arrival order (docs/decisions.md, "Click-and-collect").

Parallel workers: the effect takes the order's advisory lock (``lock_keys``: the
profile effects before it took it for the same events already) and then the order's
row ``FOR UPDATE``, so two transactions confirming one order run one after the other,
and the second sees the first's confirmation (READ COMMITTED reads what committed
while it waited).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from edge_sync.protocol import ValidEvent, format_ts
from edge_sync.protocol.tokens import order_scope

from ...store.order_tables import order_confirmations, order_conflicts, order_records
from ...store.sql import insert_ignore, lock_keys
from ..tokens.revocations import revoke
from . import announce
from .model import CANCELLED, PICKED_UP, PICKUP_FROM
from .records import add_history, push_to_store, set_state

CONFIRMED = "pickup.confirmed"
REFUSED = "pickup.refused"
TYPES = (CONFIRMED, REFUSED)

DOUBLE_PICKUP = "double_pickup"
UNKNOWN_ORDER = "unknown_order"
ORDER_CANCELLED = "order_cancelled"
WRONG_STORE = "wrong_store"
WRONG_CODE = "wrong_code"


def store_time(ve: ValidEvent) -> datetime:
    """When it happened at the store: the event's ``occurred_at``, which is what scores
    and journeys use too (central does not yet correct unsynced device clocks)."""
    return ve.event.occurred_at


class OrderEffects:
    """The ingest effect (``ingest.effects``). ``on_change`` is called after a commit
    that changed orders (the pickups publisher wakes up)."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.on_change = on_change
        self._changed = False

    def apply(self, conn: Connection, new_events: list[ValidEvent], received_at: datetime) -> None:
        mine = [ve for ve in new_events if ve.event.type in TYPES]
        if not mine:
            return
        by_order: dict[str, list[ValidEvent]] = {}
        for ve in mine:
            by_order.setdefault(ve.data["order_id"], []).append(ve)
        lock_keys(conn, {"order": sorted(by_order)})
        for order_id in sorted(by_order):
            for ve in sorted(by_order[order_id], key=lambda v: (store_time(v), v.event.id)):
                if ve.event.type == CONFIRMED:
                    confirm(conn, ve, received_at)
                else:
                    refused(conn, ve, received_at)
        self._changed = True

    def committed(self) -> None:
        changed, self._changed = self._changed, False
        if changed and self.on_change is not None:
            self.on_change()

    def rolled_back(self) -> None:
        self._changed = False


def _locked(conn: Connection, order_id: str) -> Any:
    o = order_records
    return conn.execute(select(o).where(o.c.id == order_id).with_for_update()).first()


def _confirmation(ve: ValidEvent) -> dict[str, Any]:
    e, d = ve.event, ve.data
    return {
        "event_id": e.id, "occurred_at": store_time(ve), "store_id": e.store_id,
        "device_id": e.device_id, "staff_id": d["staff_id"], "method": d["method"],
        "token_hash": d.get("token_hash"),
    }  # fmt: skip


def _shown(c: dict[str, Any] | Any) -> dict[str, Any]:
    get = c.get if isinstance(c, dict) else c._mapping.get
    return {
        "event_id": get("event_id"), "occurred_at": format_ts(get("occurred_at")),
        "store_id": get("store_id"), "device_id": get("device_id"),
        "staff_id": get("staff_id"), "method": get("method"), "token_hash": get("token_hash"),
    }  # fmt: skip


def confirm(conn: Connection, ve: ValidEvent, now: datetime) -> None:
    conf = _confirmation(ve)
    order_id = ve.data["order_id"]
    conn.execute(
        insert_ignore(conn, order_confirmations).values(order_id=order_id, received_at=now, **conf)
    )
    source = f"device:{conf['device_id']}"
    row = _locked(conn, order_id)
    if row is None:
        _conflict(conn, None, order_id, conf, UNKNOWN_ORDER, None, False, now)
        return
    problem = _not_a_handover(row, conf)
    if problem is not None:
        add_history(conn, row.id, "conflict", conf["occurred_at"], conf["staff_id"], source, now,
                    event_id=conf["event_id"], detail={"kind": problem})  # fmt: skip
        _conflict(conn, row, order_id, conf, problem, None, False, now)
        return
    if row.state == PICKED_UP:
        _second(conn, row, conf, source, now)
        return
    assert row.state in PICKUP_FROM, row.state
    was = row.state
    row = set_state(
        conn, row, PICKED_UP, conf["occurred_at"], now, picked_up_at=conf["occurred_at"],
        picked_up_by=conf["staff_id"], picked_up_device=conf["device_id"],
        pickup_event_id=conf["event_id"],
    )  # fmt: skip
    add_history(conn, row.id, PICKED_UP, conf["occurred_at"], conf["staff_id"], source, now,
                event_id=conf["event_id"], detail={"method": conf["method"], "from": was})  # fmt: skip
    revoke(conn, [order_scope(row.id)], now)
    push_to_store(conn, row.id, row.store_id, now)
    announce.picked_up(conn, row, now)


def _not_a_handover(row: Any, conf: dict[str, Any]) -> str | None:
    if row.state == CANCELLED:
        return ORDER_CANCELLED
    if conf["store_id"] != row.store_id:
        return WRONG_STORE
    given = conf["token_hash"]
    if given is not None and row.code_hash is not None and not row.code_hash.startswith(given):
        return WRONG_CODE
    return None


def _second(conn: Connection, row: Any, conf: dict[str, Any], source: str, now: datetime) -> None:
    """The order was handed over already: the earlier of the two by store time is the
    handover, the other a conflict."""
    oc = order_confirmations
    current = conn.execute(
        select(oc).where(oc.c.order_id == row.id, oc.c.event_id == row.pickup_event_id)
    ).one()
    earlier = (conf["occurred_at"], conf["event_id"]) < (current.occurred_at, current.event_id)
    detail = {"kind": DOUBLE_PICKUP, "handover": conf["event_id"] if earlier else current.event_id}
    add_history(conn, row.id, "conflict", conf["occurred_at"], conf["staff_id"], source, now,
                event_id=conf["event_id"], detail=detail)  # fmt: skip
    if not earlier:
        _conflict(conn, row, row.id, conf, DOUBLE_PICKUP, current, False, now)
        return
    o = order_records
    row = conn.execute(
        update(o).where(o.c.id == row.id)
        .values(picked_up_at=conf["occurred_at"], picked_up_by=conf["staff_id"],
                picked_up_device=conf["device_id"], pickup_event_id=conf["event_id"],
                state_at=conf["occurred_at"], revision=o.c.revision + 1, updated_at=now)
        .returning(*o.c)
    ).one()  # fmt: skip
    # The conflicts that named the old handover name this one now.
    c = order_conflicts
    for old in conn.execute(
        select(c).where(c.c.order_id == row.id, c.c.kind == DOUBLE_PICKUP)
    ).all():
        loser = old.detail["confirmation"]
        conn.execute(
            update(c).where(c.c.id == old.id)
            .values(winner_event_id=conf["event_id"], updated_at=now,
                    message=_double_message(row.id, loser, _shown(conf)),
                    detail={**old.detail, "winner": _shown(conf)})
        )  # fmt: skip
    _conflict(conn, row, row.id, current, DOUBLE_PICKUP, conf, True, now)
    push_to_store(conn, row.id, row.store_id, now)


def _conflict(
    conn: Connection,
    row: Any | None,
    order_id: str,
    loser: dict[str, Any] | Any,
    kind: str,
    winner: dict[str, Any] | Any | None,
    winner_changed: bool,
    now: datetime,
) -> None:
    shown = _shown(loser)
    won = _shown(winner) if winner is not None else None
    message = (
        _double_message(order_id, shown, won)
        if won is not None
        else _message(kind, order_id, shown, row)
    )
    detail = {"confirmation": shown, "winner": won,
              "why": "the earliest confirmation by the store's time is the handover"
              if won is not None else kind}  # fmt: skip
    inserted = conn.execute(
        insert_ignore(conn, order_conflicts).values(
            order_id=order_id, event_id=shown["event_id"], kind=kind,
            winner_event_id=won["event_id"] if won else None, store_id=shown["store_id"],
            message=message, detail=detail, created_at=now, updated_at=now,
        )
    ).rowcount  # fmt: skip
    if row is not None and inserted:
        announce.conflict(
            conn, row, shown["event_id"], kind, message, shown, won, winner_changed, now
        )


def _who(c: dict[str, Any]) -> str:
    return f"staff {c['staff_id']} on {c['device_id']} at {c['occurred_at']} (store time)"


def _double_message(order_id: str, loser: dict[str, Any], winner: dict[str, Any]) -> str:
    return (
        f"Order {order_id} was confirmed as picked up twice: by {_who(winner)} and by "
        f"{_who(loser)}. The first, at {winner['occurred_at']}, is the handover; check with "
        f"the staff at {loser['device_id']} whether goods left the store a second time."
    )


def _message(kind: str, order_id: str, c: dict[str, Any], row: Any | None) -> str:
    head = f"{_who(c)} confirmed a pickup of order {order_id}"
    if kind == UNKNOWN_ORDER:
        return f"{head}, but central has no click-and-collect order {order_id}; check what was handed over."
    assert row is not None
    if kind == ORDER_CANCELLED:
        return (
            f"{head}, but the order was cancelled at {format_ts(row.state_at)}; it stays "
            "cancelled: check what was handed over."
        )
    if kind == WRONG_STORE:
        return (
            f"{head} in store {c['store_id']}, but the order is for store {row.store_id}; it "
            "was not marked picked up."
        )
    return (
        f"{head} with a code ({c['token_hash']}) that is not the order's pickup code "
        f"({row.code_hash}); it was not marked picked up."
    )


def refused(conn: Connection, ve: ValidEvent, now: datetime) -> None:
    """A refusal changes nothing; it is kept in the order's history."""
    row = _locked(conn, ve.data["order_id"])
    if row is None:
        return
    add_history(
        conn, row.id, "refused", store_time(ve), ve.data["staff_id"], f"device:{ve.event.device_id}",
        now, event_id=ve.event.id,
        detail={"reason": ve.data["reason"], "note": ve.data.get("note")},
    )  # fmt: skip
