"""The staff pickup desk: what the kiosk's staff pickup screens call.

1. Staff unlock (``staff.StaffUnlock.unlock``) and get a ``StaffSession``.
2. The customer's code is scanned (``scan``, or ``open_token`` with the token the scan
   controller verified) or staff type the order id (``lookup``). Everything is checked
   offline against what central pushed: the code's store, its dates, the order being
   on this store's list and ready, and the code being the order's current one. The
   screen gets only the lines (SKU, name, quantity), the item count and the customer's
   initials.
3. ``confirm`` hands the order over: in one SQLite transaction, under the database's
   write lock (``BEGIN IMMEDIATE``, which serialises every kiosk process and thread on
   this device), it checks the order is still not handed over, marks it handed over
   (when, by whom, how), clears its personal data and stores ``pickup.confirmed`` in the
   outbox (critical). Both or neither: a crash or a full outbox leaves the order
   waiting. A second confirm, from any staff member or a second scan of the code, is
   refused with when and by whom it was handed over.
4. ``refuse`` records ``pickup.refused`` with a reason (the order stays waiting).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, get_args

from ..client import EdgeClient
from ..db import open_edge_db
from ..protocol import Event
from ..protocol.ids import format_ts, utcnow
from ..protocol.schemas import PickupRefused as _RefusedData
from ..protocol.tokens import InvalidToken, Kind, Reason, Token, peek, verify
from ..protocol.tokens.codec import day_start
from .orders import ORDER_ID_RE, get_order, ready_orders
from .refusals import PickupRefused, Refusal, check_order
from .staff import StaffSession, staff_rows

CONFIRMED, REFUSED = "pickup.confirmed", "pickup.refused"
#: why staff may refuse a handover (``pickup.refused``'s reasons)
REFUSE_REASONS: tuple[str, ...] = get_args(_RefusedData.model_fields["reason"].annotation)


@dataclass(frozen=True, slots=True)
class PickupLine:
    sku: str
    name: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class PickupOrder:
    """What the pickup screen shows, and what ``confirm`` takes back."""

    order_id: str
    lines: tuple[PickupLine, ...]
    items: int
    #: the customer's initials ("J.D."), or None when central sent none
    initials: str | None
    #: "qr" (the code was scanned) or "lookup" (staff typed the order id)
    method: str
    #: the scanned code's hash (None for a lookup)
    token_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Handover:
    order_id: str
    at: datetime
    staff_id: str
    event: Event


class PickupDesk:
    def __init__(
        self,
        client: EdgeClient,
        *,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.store_id = client.outbox.store_id
        self.tz = tz
        self.clock = clock
        self._conn, _ = open_edge_db(client.outbox.path)
        self._lock = threading.Lock()

    # -- finding the order ---------------------------------------------------------------

    def scan(self, text: object, now: datetime | None = None) -> PickupOrder:
        """The order a scanned (or pasted) pickup code is for, checked offline."""
        now = now or self.clock()
        codes = self.client.codes
        # No ``used`` check: the order's own record answers a second scan better ("handed
        # over at … by …") than "already used"; confirm marks the code used for the scan
        # screen (``EdgeClient.verify_code``).
        try:
            token = verify(
                text, codes.keyring(), now=now, revoked=codes.revocations,
                store_id=self.store_id, kinds=[Kind.ORDER],
            )  # fmt: skip
        except InvalidToken as err:
            raise self._code_refusal(err, text, now) from None
        return self.open_token(token, now)

    def open_token(self, token: Token, now: datetime | None = None) -> PickupOrder:
        """The order of a verified pickup token (``ScanOutcome.token``). Store and dates
        are checked again: the token may have been verified some time ago, or elsewhere."""
        now = now or self.clock()
        f = token.fields
        if f.kind is not Kind.ORDER:
            raise PickupRefused(
                Refusal.NOT_A_PICKUP_CODE,
                f"This is not a pickup code (it is a {f.kind.name.lower()} code).",
            )
        if f.store_id != self.store_id:
            raise _wrong_store(f.subject, f.store_id, self.store_id)
        if now >= day_start(f.not_after) + timedelta(days=1):
            raise _expired(f.subject, f.not_after.isoformat())
        if now < day_start(f.not_before):
            raise _not_yet(f.subject, f.not_before.isoformat())
        return self._view(self._checked(f.subject, now, token.token_hash), "qr", token.token_hash)

    def lookup(
        self, session: StaffSession, typed_order_id: str, now: datetime | None = None
    ) -> PickupOrder:
        """The order whose id staff typed (the customer has no code with them). Needs an
        unlocked desk: unlike a scan, where the customer shows their own code, a typed
        id could be anyone's order."""
        self._session(session)
        order_id = typed_order_id.strip().lower() if isinstance(typed_order_id, str) else ""
        if not ORDER_ID_RE.match(order_id):
            raise PickupRefused(
                Refusal.UNKNOWN_ORDER,
                f"{typed_order_id!r} is not an order id: it looks like o-1234abcd.",
            )
        return self._view(self._checked(order_id, now or self.clock()), "lookup", None)

    def waiting(self) -> list[str]:
        """Ids of the orders waiting here for their customers."""
        with self._lock:
            return ready_orders(self._conn)

    def _checked(self, order_id: str, now: datetime, code_hash: str | None = None) -> Any:
        with self._lock:
            order = get_order(self._conn, order_id)
            name = self._name(self._conn, order.handed_over_by if order else None)
        return check_order(order, order_id, now, self.tz, name, code_hash)

    @staticmethod
    def _name(conn: sqlite3.Connection, staff_id: str | None) -> str | None:
        rows = staff_rows(conn, staff_id) if staff_id else []
        return rows[0][1] if rows else None

    @staticmethod
    def _view(order: Any, method: str, token_hash: str | None) -> PickupOrder:
        lines = tuple(PickupLine(ln["sku"], ln.get("name"), ln["quantity"]) for ln in order.lines)
        return PickupOrder(order.order_id, lines, order.items, order.initials, method, token_hash)

    def _code_refusal(self, err: InvalidToken, text: object, now: datetime) -> PickupRefused:
        """Staff words for a code the verifier refused; from what the code claims."""
        f = peek(text)
        if f is None or err.reason in (Reason.MALFORMED, Reason.BAD_SIGNATURE):
            return PickupRefused(Refusal.INVALID_CODE, f"Not a valid pickup code: {err.message()}")
        if err.reason is Reason.WRONG_KIND:
            return PickupRefused(
                Refusal.NOT_A_PICKUP_CODE,
                f"This is not a pickup code (it is a {f.kind.name.lower()} code).",
            )
        if err.reason is Reason.NOT_FOR_THIS_STORE:
            return _wrong_store(f.subject, f.store_id, self.store_id)
        if err.reason is Reason.NOT_YET_VALID:
            return _not_yet(f.subject, f.not_before.isoformat())
        if err.reason is Reason.EXPIRED and now >= day_start(f.not_after) + timedelta(days=1):
            return _expired(f.subject, f.not_after.isoformat())
        if err.reason is Reason.REVOKED:
            # central revokes an order's codes once it is collected or cancelled: say which
            try:
                self._checked(f.subject, now)
            except PickupRefused as known:
                return known
        return PickupRefused(
            Refusal.INVALID_CODE, f"This pickup code cannot be used: {err.message()}", f.subject
        )

    # -- handing over --------------------------------------------------------------------

    def _session(self, session: StaffSession) -> StaffSession:
        if not session.active():
            raise PickupRefused(
                Refusal.SESSION_ENDED, "The staff session has ended: unlock with your PIN again."
            )
        session.touch()
        return session

    def confirm(self, session: StaffSession, order: PickupOrder) -> Handover:
        """Hand ``order`` over: the local order and ``pickup.confirmed`` in one
        transaction. Raises ``PickupRefused`` when it may not be handed over (now)."""
        self._session(session)
        now = self.clock()
        at = format_ts(now)

        def within(conn: sqlite3.Connection) -> None:
            current = get_order(conn, order.order_id)
            name = self._name(conn, current.handed_over_by if current else None)
            check_order(current, order.order_id, now, self.tz, name, order.token_hash)
            conn.execute(
                "UPDATE pickup_orders SET handed_over_at = ?, handed_over_by = ?,"
                " handed_over_how = ?, ended_at = ?, purged_at = ?, lines = NULL,"
                " initials = NULL, code_hash = NULL WHERE order_id = ?",
                (at, session.staff_id, order.method, at, at, order.order_id),
            )
            _log(conn, order.order_id, "confirmed", session.staff_id, at, order.method)
            if order.token_hash is not None:  # one-time: the scan screen refuses it now
                conn.execute(
                    "INSERT OR IGNORE INTO used_tokens (token_hash, used_at) VALUES (?, ?)",
                    (order.token_hash, at),
                )

        data: dict[str, Any] = {
            "order_id": order.order_id, "staff_id": session.staff_id,
            # the event counts at least one item; central's orders always have one
            "items": max(order.items, 1), "method": order.method,
        }  # fmt: skip
        if order.token_hash is not None:
            data["token_hash"] = order.token_hash
        done = self.client.outbox.enqueue_many([(CONFIRMED, data)], within=within)
        return Handover(order.order_id, now, session.staff_id, done[0].event)

    def refuse(
        self,
        session: StaffSession,
        order: PickupOrder | str,
        reason: str,
        note: str | None = None,
    ) -> Event:
        """Record that staff refused the handover (``REFUSE_REASONS``); the order stays
        waiting, so the customer can come back."""
        if reason not in REFUSE_REASONS:
            raise ValueError(f"reason {reason!r}: must be one of {', '.join(REFUSE_REASONS)}")
        self._session(session)
        order_id = order if isinstance(order, str) else order.order_id
        at = format_ts(self.clock())
        data: dict[str, Any] = {"order_id": order_id, "staff_id": session.staff_id}
        data["reason"] = reason
        if note:
            data["note"] = note

        def within(conn: sqlite3.Connection) -> None:
            _log(conn, order_id, "refused", session.staff_id, at, reason)

        return self.client.outbox.enqueue_many([(REFUSED, data)], within=within)[0].event

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PickupDesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _log(conn: sqlite3.Connection, order_id: str, action: str, staff: str, at: str, d: str) -> None:
    conn.execute(
        "INSERT INTO pickup_log (order_id, action, staff_id, at, detail) VALUES (?, ?, ?, ?, ?)",
        (order_id, action, staff, at, d),
    )


def _wrong_store(order_id: str, theirs: str | None, ours: str) -> PickupRefused:
    return PickupRefused(
        Refusal.WRONG_STORE,
        f"This pickup code is for store {theirs}, not this store ({ours}): order {order_id} "
        f"is waiting at store {theirs}.",
        order_id,
    )


def _expired(order_id: str, last_day: str) -> PickupRefused:
    return PickupRefused(
        Refusal.EXPIRED,
        f"This pickup code expired: it was valid until {last_day}. Ask the back office "
        f"about order {order_id}.",
        order_id,
    )


def _not_yet(order_id: str, first_day: str) -> PickupRefused:
    return PickupRefused(
        Refusal.NOT_YET_VALID, f"This pickup code is valid from {first_day}.", order_id
    )
