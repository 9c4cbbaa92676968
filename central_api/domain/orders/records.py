"""Orders as stored: placing one (idempotent by external id), reading and listing them,
and the changes the API and the sweeper make, each with its history row.

Every function runs inside the caller's transaction. A change takes the order's lock
first (``lock_keys`` on ``order:{id}``, then the row ``FOR UPDATE``): the same order as
ingest's pickup effects, which take the same advisory lock before they read the row,
so that a pickup and a cancel or a no-show never both decide from the same old state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from edge_sync.protocol import new_event_id
from edge_sync.protocol.tokens import MAX_VALIDITY_DAYS, Kind, Signer, TooLong, order_scope
from edge_sync.protocol.tokens.codec import Fields, pack

from ...store.order_tables import (
    order_confirmations,
    order_conflicts,
    order_history,
    order_records,
    pickup_pushes,
)
from ...store.sql import lock_keys
from ..identity.erasure import EXTRA_CLEANERS
from ..online.online import ingest_online_in
from ..scoring.active_rules import ActiveRules
from ..tokens.revocations import revoke
from . import announce
from .model import (
    ALLOWED,
    CANCELLED,
    NO_SHOW,
    PLACED,
    READY,
    CannotIssueCode,
    ExternalIdTaken,
    ForbiddenTransition,
    OrderError,
    OrderIn,
    OrderNotFound,
    body_sha256,
    check_value,
    differences,
    new_order_id,
)

#: the online source the ``order.placed`` of an API order names
SOURCE = "orders-api"


@dataclass(frozen=True, slots=True)
class CodeIssuer:
    """What "ready" needs to issue a pickup code: the signer (read when a code is made,
    so that a key rotation is used at once) and how long the code is valid."""

    signer: Callable[[], Signer]
    no_show_days: int

    def fits(self, order_id: str, store_id: str) -> None:
        """``CannotIssueCode`` when a pickup code for the order could not be made (its
        ids and the host too long for QR version 7-M), told when the order is placed."""
        signer = self.signer()
        today = date.today()
        fields = Fields(Kind.ORDER, order_id, signer.kid, 0, today, today, None, store_id)
        try:
            size = len(pack(fields))
        except ValueError as err:
            raise CannotIssueCode(f"no pickup code can be made for this order: {err}") from None
        if size > signer.max_payload:
            raise CannotIssueCode(
                f"no pickup code can be made for store {store_id!r}: with the host "
                f"{signer.public_host!r} its id is too long for the QR code (use a shorter "
                "store id or public_host)"
            )


def lock_order(conn: Connection, order_id: str) -> Any:
    """The order's row, locked for this transaction; ``OrderNotFound`` if none."""
    lock_keys(conn, {"order": [order_id]})
    row = conn.execute(
        select(order_records).where(order_records.c.id == order_id).with_for_update()
    ).first()
    if row is None:
        raise OrderNotFound(order_id)
    return row


def get(conn: Connection, order_id: str) -> Any:
    row = conn.execute(select(order_records).where(order_records.c.id == order_id)).first()
    if row is None:
        raise OrderNotFound(order_id)
    return row


def history(conn: Connection, order_id: str) -> list[Any]:
    h = order_history
    return list(conn.execute(select(h).where(h.c.order_id == order_id).order_by(h.c.id)))


def page(
    conn: Connection,
    after: str | None,
    limit: int,
    store: str | None = None,
    state: str | None = None,
) -> tuple[list[Any], bool]:
    o = order_records
    q = select(o).order_by(o.c.id).limit(limit + 1)
    if after is not None:
        q = q.where(o.c.id > after)
    if store is not None:
        q = q.where(o.c.store_id == store)
    if state is not None:
        q = q.where(o.c.state == state)
    rows = list(conn.execute(q))
    return rows[:limit], len(rows) > limit


def add_history(
    conn: Connection,
    order_id: str,
    state: str,
    at: datetime,
    by: str,
    source: str,
    now: datetime,
    event_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        order_history.insert().values(
            order_id=order_id, state=state, at=at, recorded_at=now, by=by, source=source,
            event_id=event_id, detail=detail,
        )
    )  # fmt: skip


def push_to_store(conn: Connection, order_id: str, store_id: str, now: datetime) -> None:
    """The store learns the order's new state on its pickups topic (``push``)."""
    conn.execute(
        pickup_pushes.insert().values(order_id=order_id, store_id=store_id, created_at=now)
    )


def set_state(
    conn: Connection, row: Any, state: str, at: datetime, now: datetime, **values: Any
) -> Any:
    """Move a locked order to ``state`` (no transition check: callers check)."""
    o = order_records
    return conn.execute(
        update(o)
        .where(o.c.id == row.id)
        .values(state=state, state_at=at, revision=o.c.revision + 1, updated_at=now, **values)
        .returning(*o.c)
    ).one()


def _check(row: Any, wanted: str) -> None:
    if (row.state, wanted) not in ALLOWED:
        raise ForbiddenTransition(row.id, row.state, wanted)


# -- placing ------------------------------------------------------------------------------


def place(
    conn: Connection,
    order: OrderIn,
    by: str,
    now: datetime,
    active: ActiveRules,
    fits: Callable[[str, str], None] | None = None,
) -> tuple[Any, bool]:
    """The order for ``order.external_id``, and whether this call made it.

    The same body again is the same order; another body for the same external id is
    ``ExternalIdTaken`` naming the fields that differ. A new order also records the
    online ``order.placed`` fact (same transaction), so journeys, scores and campaign
    attribution count it as the profile's order. ``fits(order_id, store_id)`` raises when
    a pickup code for it could not be made (ids too long for the QR code)."""
    canonical = order.canonical()
    digest = body_sha256(canonical)
    # Two requests with one external id wait for each other here (PostgreSQL; SQLite
    # writers are serialised anyway), so the second finds the first's order.
    lock_keys(conn, {"order-external": [order.external_id]})
    o = order_records
    existing = conn.execute(select(o).where(o.c.external_id == order.external_id)).first()
    if existing is not None:
        if existing.request_sha256 != digest:
            fields = differences(existing.request, canonical)
            raise ExternalIdTaken(order.external_id, existing.id, fields)
        return existing, False
    check_value(order)
    order_id = _free_id(conn)
    if fits is not None:
        fits(order_id, order.store_id)
    placed_at = order.placed_at or now
    event_id = new_event_id()
    fact = {
        "id": event_id, "type": "order.placed", "v": 1,
        "occurred_at": placed_at.isoformat(), "channel": "web", "source": SOURCE,
        "customer_id": order.customer_id, "email_sha256": order.email_sha256,
        "data": {"order_id": order_id, "value": order.value, "items": order.items,
                 "pickup_store_id": order.store_id},
    }  # fmt: skip
    stored = ingest_online_in(conn, [fact], now, active)
    if stored.accepted != [event_id]:  # the model checks what the event schema does
        raise OrderError(f"the order's order.placed fact was not stored: {stored.rejected}")
    profile_id = _profile_of(conn, order_id)
    row = conn.execute(
        o.insert()
        .values(
            id=order_id, external_id=order.external_id, request_sha256=digest,
            request=canonical, profile_id=profile_id, store_id=order.store_id,
            lines=canonical["lines"], items=order.items, value=order.value, state=PLACED,
            customer_initials=order.customer_initials,
            revision=1, placed_at=placed_at, placed_event_id=event_id, state_at=placed_at,
            created_at=now, updated_at=now,
        )
        .returning(*o.c)
    ).one()  # fmt: skip
    add_history(conn, order_id, PLACED, placed_at, by, "api", now, event_id=event_id)
    return row, True


def _free_id(conn: Connection) -> str:
    for _ in range(8):
        order_id = new_order_id()
        taken = conn.execute(select(order_records.c.id).where(order_records.c.id == order_id))
        if taken.first() is None:
            return order_id
    raise RuntimeError("no free order id in 8 draws")  # pragma: no cover - 32^8 ids


def _profile_of(conn: Connection, order_id: str) -> str:
    from ...store.profile_tables import orders

    return conn.execute(
        select(orders.c.profile_id).where(orders.c.order_id == order_id)
    ).scalar_one()


# -- the API's and the sweeper's changes ----------------------------------------------------


def ready(conn: Connection, order_id: str, issuer: CodeIssuer, by: str, now: datetime) -> Any:
    """placed → ready_for_pickup: issue the one-time pickup code (valid from today until
    a day after the order becomes a no-show), tell the store, queue ``order.ready``."""
    row = lock_order(conn, order_id)
    _check(row, READY)
    days = min(issuer.no_show_days + 1, MAX_VALIDITY_DAYS)
    try:
        signer = issuer.signer()
        token = signer.sign(
            "o", row.id, store_id=row.store_id, not_before=now.date(),
            not_after=now.date() + timedelta(days=days),
        )  # fmt: skip
    except TooLong as err:
        raise CannotIssueCode(f"no pickup code can be made for this order: {err}") from None
    row = set_state(
        conn, row, READY, now, now, ready_at=now, code_text=signer.url(token),
        code_hash=token.token_hash, code_not_after=token.fields.not_after,
    )  # fmt: skip
    add_history(conn, row.id, READY, now, by, "api", now, detail={"code_hash": token.token_hash})
    push_to_store(conn, row.id, row.store_id, now)
    announce.ready(conn, row, now)
    return row


def cancel(conn: Connection, order_id: str, by: str, now: datetime) -> Any:
    """placed | ready_for_pickup → cancelled; its pickup codes are revoked on every kiosk."""
    row = lock_order(conn, order_id)
    _check(row, CANCELLED)
    was_ready = row.state == READY
    row = set_state(conn, row, CANCELLED, now, now)
    add_history(conn, row.id, CANCELLED, now, by, "api", now)
    revoke(conn, [order_scope(row.id)], now)
    if was_ready:
        push_to_store(conn, row.id, row.store_id, now)
    return row


def no_show(conn: Connection, order_id: str, now: datetime, cutoff: datetime) -> Any | None:
    """ready_for_pickup since before ``cutoff`` → no_show; None when the order is no
    longer such (another process swept it, or it was collected meanwhile)."""
    row = lock_order(conn, order_id)
    if row.state != READY or row.ready_at is None or row.ready_at >= cutoff:
        return None
    _check(row, NO_SHOW)
    row = set_state(conn, row, NO_SHOW, now, now)
    add_history(conn, row.id, NO_SHOW, now, "sweeper", "sweeper", now,
                detail={"ready_at": row.ready_at.isoformat()})  # fmt: skip
    revoke(conn, [order_scope(row.id)], now)
    push_to_store(conn, row.id, row.store_id, now)
    announce.no_show(conn, row, now)
    return row


# -- conflicts -----------------------------------------------------------------------------


def conflicts_page(
    conn: Connection,
    after: int | None,
    limit: int,
    store: str | None = None,
    order_id: str | None = None,
) -> tuple[list[Any], bool]:
    c = order_conflicts
    q = select(c).order_by(c.c.id).limit(limit + 1)
    if after is not None:
        q = q.where(c.c.id > after)
    if store is not None:
        q = q.where(c.c.store_id == store)
    if order_id is not None:
        q = q.where(c.c.order_id == order_id)
    rows = list(conn.execute(q))
    return rows[:limit], len(rows) > limit


# -- erasure -------------------------------------------------------------------------------


def forget_profiles(
    conn: Connection, profile_ids: Sequence[str], _identifiers: Sequence[str] = ()
) -> dict[str, int]:
    """Erasure: the profiles' orders, their history, confirmations and conflicts go; their
    pickup codes are revoked (``revoke``: the list names no order)."""
    ids = list(
        conn.execute(
            select(order_records.c.id).where(order_records.c.profile_id.in_(list(profile_ids)))
        ).scalars()
    )
    if not ids:
        return {}
    from edge_sync.protocol import utcnow

    revoke(conn, [order_scope(i) for i in ids], utcnow())
    counts = {}
    for name, table in (
        ("order_history", order_history), ("order_confirmations", order_confirmations),
        ("order_conflicts", order_conflicts), ("pickup_pushes", pickup_pushes),
    ):  # fmt: skip
        counts[name] = conn.execute(delete(table).where(table.c.order_id.in_(ids))).rowcount or 0
    counts["order_records"] = (
        conn.execute(delete(order_records).where(order_records.c.id.in_(ids))).rowcount or 0
    )
    return counts


EXTRA_CLEANERS.append(forget_profiles)
