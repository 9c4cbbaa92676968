"""Why the pickup desk will not hand an order over, in words staff can act on."""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import StrEnum

from ..protocol.ids import parse_ts
from .orders import READY, LocalOrder


class Refusal(StrEnum):
    NOT_A_PICKUP_CODE = "not_a_pickup_code"
    INVALID_CODE = "invalid_code"
    WRONG_STORE = "wrong_store"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNKNOWN_ORDER = "unknown_order"
    NOT_READY = "not_ready"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    WITHDRAWN = "withdrawn"
    PAST_COLLECT_BY = "past_collect_by"
    CODE_REPLACED = "code_replaced"
    ALREADY_HANDED_OVER = "already_handed_over"
    SESSION_ENDED = "session_ended"


class PickupRefused(Exception):
    """``code`` for the screen's logic, ``message`` (also ``str()``) to show staff."""

    def __init__(
        self,
        code: Refusal,
        message: str,
        order_id: str | None = None,
        *,
        handed_over_at: datetime | None = None,
        handed_over_by: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.order_id = order_id
        self.handed_over_at = handed_over_at
        #: the staff member's id (None when central recorded the handover, not this desk)
        self.handed_over_by = handed_over_by


def when_text(ts: str, tz: tzinfo | None) -> str:
    """``on 2026-06-01 at 14:03`` in the store's time (the machine's zone by default)."""
    t = parse_ts(ts).astimezone(tz)
    return f"on {t:%Y-%m-%d} at {t:%H:%M}"


def check_order(
    order: LocalOrder | None,
    order_id: str,
    now: datetime,
    tz: tzinfo | None,
    staff_name: str | None = None,
    code_hash: str | None = None,
) -> LocalOrder:
    """``order`` if it may be handed over now (with the code ``code_hash`` when scanned);
    else ``PickupRefused`` saying why. ``staff_name``: who handed it over, if it was."""
    if order is None:
        raise PickupRefused(
            Refusal.UNKNOWN_ORDER,
            f"Order {order_id} is not on this store's pickup list. It may not be ready yet, "
            "or this kiosk has not heard from central since it was: check the sync status, "
            "or look the order up in the back office.",
            order_id,
        )
    if order.handed_over:
        at = order.handed_over_at or order.central_picked_up_at
        if order.handed_over_at is not None:  # edge.db is this kiosk's own
            who = f"by {staff_name or order.handed_over_by}"
            if staff_name:
                who += f" ({order.handed_over_by})"
            who += " at this kiosk"
        else:
            who = "at another kiosk, as central recorded"
        when = when_text(at, tz) if at else "already"
        raise PickupRefused(
            Refusal.ALREADY_HANDED_OVER,
            f"Order {order_id} was already handed over {when} {who}. Do not hand it over again.",
            order_id,
            handed_over_at=parse_ts(at) if at else None,
            handed_over_by=order.handed_over_by,
        )
    if order.state == "cancelled":
        raise PickupRefused(
            Refusal.CANCELLED, f"Order {order_id} was cancelled: do not hand it over.", order_id
        )
    if order.state == "no_show":
        raise PickupRefused(
            Refusal.NO_SHOW,
            f"Order {order_id} was not collected in time and is marked as a no-show: "
            "ask the back office before handing anything over.",
            order_id,
        )
    if order.state == "withdrawn":
        raise PickupRefused(
            Refusal.WITHDRAWN,
            f"Order {order_id} is no longer on this store's pickup list (central has "
            "withdrawn it): ask the back office.",
            order_id,
        )
    if order.state != READY:
        raise PickupRefused(
            Refusal.NOT_READY, f"Order {order_id} is not ready for pickup yet.", order_id
        )
    if order.purged_at is not None or (
        order.collect_by is not None and parse_ts(order.collect_by) <= now
    ):
        by = when_text(order.collect_by, tz) if order.collect_by else "earlier"
        raise PickupRefused(
            Refusal.PAST_COLLECT_BY,
            f"Order {order_id} was to be collected by {by.removeprefix('on ')}; it is no "
            "longer held for pickup here: ask the back office.",
            order_id,
        )
    if code_hash is not None and order.code_hash is not None and order.code_hash != code_hash:
        raise PickupRefused(
            Refusal.CODE_REPLACED,
            f"This pickup code for order {order_id} has been replaced by a newer one: ask "
            'the customer for the code in the latest "ready for pickup" email.',
            order_id,
        )
    return order
