"""The staff pickup flow, over ``PickupDesk`` and ``StaffUnlock``::

    LOCKED ─start─▶ PIN ─right PIN─▶ READY ─scan / type─▶ ORDER ─confirm─▶ DONE ─next─▶ READY
                     │ wrong: tries left,                   │ refuse(reason)──▶ DONE
                     │ then a lock-out countdown            └ back ──▶ READY
    any step ──lock / staff idle / shopper reset──▶ LOCKED

With several staff on the list, the PIN screen asks who first (``staff_list``,
``choose_staff``): one hash to check instead of one per person. A PIN check takes
about 40 ms a hash, so the app splits ``submit_pin`` in three: ``begin_pin_check`` on
the UI thread, ``run_pin_check`` in a worker, ``finish_pin_check`` back on the UI
thread (``checking`` is True between, for the pressed state).

Every refusal comes back as ``problem``, in the staff member's words and language: a
second confirm of the same order says when and by whom it was handed over. The desk
locks itself after ``staff_idle_s`` without use (``StaffSession``), and on every
shopper-session reset: nothing of one customer's order stays for the next person.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum

from edge_sync import EdgeClient, EdgeError
from edge_sync.pickups import (
    REFUSE_REASONS,
    PickupDesk,
    PickupOrder,
    PickupRefused,
    StaffSession,
    StaffUnlock,
    UnlockRefused,
)
from edge_sync.pickups.refusals import Refusal
from edge_sync.pickups.staff import staff_rows
from edge_sync.protocol.tokens import Token

from ..settings import KioskSettings
from .clock import Clock
from .observe import Observable
from .order_view import OrderView, order_view
from .session import SessionController
from .words import say, when_text

log = logging.getLogger(__name__)

PIN_MAX = 12
#: messages that say something went right
_GOOD_NEWS = frozenset({"staff_hello", "handed_over", "refused_recorded", "pin_again"})


class PickupStep(StrEnum):
    LOCKED = "locked"
    PIN = "pin"
    READY = "ready"  # unlocked: scan the customer's code or type the order id
    ORDER = "order"
    DONE = "done"


@dataclass(frozen=True, slots=True, eq=False)
class PinCheck:
    """One PIN taken off the pad, to check away from the UI thread."""

    pin: str = field(repr=False)
    staff_id: str | None


class PickupController(Observable):
    """``subscribe`` gets ``"step"`` and ``"message"`` (a problem, or the lock-out
    countdown changing)."""

    def __init__(
        self,
        client: EdgeClient,
        session: SessionController,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
        *,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.session = session
        self.settings = settings or session.settings
        self.clock = clock or session.clock
        self.tz = tz
        self.unlocker = StaffUnlock(
            client.outbox.path, idle_s=self.settings.staff_idle_s, clock=self.clock.time
        )
        self.desk = PickupDesk(client, tz=tz, clock=self.clock.now)
        self.step = PickupStep.LOCKED
        self.pin = ""
        self.staff: StaffSession | None = None
        self.order: PickupOrder | None = None
        #: (i18n key, fields): the last problem or result, for ``message()``
        self._message: tuple[str, dict[str, object]] | None = None
        self._lockout_shown: int | None = None
        #: who is unlocking (None: any staff member's PIN; the whole list is checked)
        self.chosen: tuple[str, str] | None = None
        #: a PIN check is running in a worker
        self.checking = False
        self._pending: PinCheck | None = None
        session.register("pickup", self.reset)

    # -- unlocking -----------------------------------------------------------------------

    def start(self) -> None:
        """Staff opened the pickup desk: ask for the PIN."""
        self.session.touch()
        if self.step is PickupStep.LOCKED:
            self.pin, self._message, self.chosen = "", None, None
            if (left := self.lockout_left()) > 0:  # locked out before (a restart keeps it)
                self._say("pin_locked", n=left)
            self._set(PickupStep.PIN)

    def digit(self, d: str) -> None:
        self.session.touch()
        if (
            self.step is PickupStep.PIN and not self.checking
            and d.isdigit() and len(d) == 1 and len(self.pin) < PIN_MAX
        ):  # fmt: skip
            self.pin += d
            self._notify("pin")

    def backspace(self) -> None:
        self.session.touch()
        if self.step is PickupStep.PIN and not self.checking:
            self.pin = self.pin[:-1]
            self._notify("pin")

    @property
    def pin_mask(self) -> str:
        return "•" * len(self.pin)

    def lockout_left(self) -> int:
        """Seconds until a PIN is checked again (0: now)."""
        return math.ceil(self.unlocker.locked_for())

    def staff_list(self) -> list[tuple[str, str]]:
        """(staff id, name) of everyone who may unlock, by id (a short read of edge.db)."""
        try:
            conn = sqlite3.connect(f"file:{self.client.outbox.path}?mode=ro", uri=True)
            try:
                return [(sid, name) for sid, name, _h in staff_rows(conn, None)]
            finally:
                conn.close()
        except sqlite3.Error:
            log.exception("the staff list could not be read")
            return []

    def choose_staff(self, staff_id: str | None) -> None:
        """Who is about to type their PIN (None: back to the list)."""
        self.session.touch()
        if self.step is PickupStep.PIN and not self.checking:
            names = dict(self.staff_list())
            self.chosen = (staff_id, names[staff_id]) if staff_id in names else None
            self.pin = ""
            self._notify("pin")

    def submit_pin(self) -> bool:
        """Check the PIN here and now; True when the desk is unlocked."""
        check = self.begin_pin_check()
        if check is None:
            return False
        return self.finish_pin_check(check, self.run_pin_check(check))

    def begin_pin_check(self) -> PinCheck | None:
        """Take the typed PIN off the pad (UI thread); None when there is nothing to check."""
        self.session.touch()
        if self.step is not PickupStep.PIN or self.checking:
            return None
        check = PinCheck(self.pin, self.chosen[0] if self.chosen else None)
        self.pin, self.checking, self._pending = "", True, check
        self._notify("pin")
        return check

    def run_pin_check(self, check: PinCheck) -> StaffSession | UnlockRefused:
        """The slow part, safe in a worker thread: it touches no controller state."""
        try:
            return self.unlocker.unlock(check.pin, check.staff_id)
        except UnlockRefused as err:
            return err

    def finish_pin_check(self, check: PinCheck, result: StaffSession | UnlockRefused) -> bool:
        """Apply a check's result (UI thread); True when the desk is unlocked."""
        if check is not self._pending or self.step is not PickupStep.PIN:
            # the desk was locked (or reset) meanwhile: this check belongs to no one
            if isinstance(result, StaffSession):
                result.end()
            return False
        self.checking, self._pending = False, None
        if isinstance(result, UnlockRefused):
            err = result
            if err.locked:
                self._say("pin_locked", n=err.retry_in_s or self.lockout_left())
            else:
                key = "pin_wrong_one" if err.tries_left == 1 else "pin_wrong"
                self._say(key, n=err.tries_left)
            return False
        self.staff = result
        self._message = ("staff_hello", {"name": self.staff.name})
        self._set(PickupStep.READY)
        return True

    # -- finding the order ---------------------------------------------------------------

    def scan(self, text: object) -> bool:
        """The customer's pickup code, read by the camera; True when an order shows."""
        return self._find(lambda: self.desk.scan(text))

    def open_token(self, token: Token) -> bool:
        """A pickup code the scan screen verified already (``ScanOutcome.token``)."""
        return self._find(lambda: self.desk.open_token(token))

    def type_order_id(self, typed: str) -> bool:
        """The order id staff typed (the customer has no code with them)."""
        return self._find(lambda: self.desk.lookup(self._active(), typed))

    def back(self) -> None:
        self.session.touch()
        if self.step in (PickupStep.ORDER, PickupStep.DONE):
            self.order, self._message = None, None
            self._set(PickupStep.READY)

    def order_view(self) -> OrderView | None:
        if self.order is None:
            return None
        return order_view(self.order, self.session.lang, self.client.availability)

    # -- handing over --------------------------------------------------------------------

    def confirm(self) -> bool:
        """Hand the shown order over; True when done."""
        if self.step is not PickupStep.ORDER or self.order is None:
            return False
        order = self.order
        try:
            done = self.desk.confirm(self._active(), order)
        except PickupRefused as err:
            self._refused(err)
            return False
        except EdgeError as err:  # the outbox could not take it: the order stays waiting
            log.error("handover of %s not recorded: %s", order.order_id, err)
            self._say("handover_not_saved", order=order.order_id)
            return False
        self.order = None
        self._say("handed_over", order=done.order_id)
        self._set(PickupStep.DONE)
        return True

    def refuse_reasons(self) -> list[tuple[str, str]]:
        """(reason, what the button says), in ``pickup.refused``'s order."""
        return [(r, say(f"refuse_{r}", self.session.lang)) for r in REFUSE_REASONS]

    def refuse(self, reason: str, note: str | None = None) -> bool:
        if self.step is not PickupStep.ORDER or self.order is None:
            return False
        order = self.order
        try:
            self.desk.refuse(self._active(), order, reason, note)
        except PickupRefused as err:
            self._refused(err)
            return False
        except EdgeError as err:
            log.error("refusal of %s not recorded: %s", order.order_id, err)
            self._say("handover_not_saved", order=order.order_id)
            return False
        self.order = None
        self._say("refused_recorded", order=order.order_id)
        self._set(PickupStep.DONE)
        return True

    def next_order(self) -> None:
        self.back()

    # -- locking -------------------------------------------------------------------------

    def lock(self, key: str | None = None) -> None:
        """Lock the desk (staff tapped "done", the staff session went idle, or a reset)."""
        if self.staff is not None:
            self.staff.end()
        self.staff, self.order, self.pin, self.chosen = None, None, "", None
        self.checking, self._pending = False, None
        self._message = (key, {}) if key else None
        self._set(PickupStep.LOCKED)

    def tick(self) -> None:
        """Lock an idle desk; tell the PIN screen each second of a lock-out."""
        if self.staff is not None and not self.staff.active():
            self.lock("staff_locked_idle")
        elif self.step is PickupStep.PIN and self._message and self._message[0] == "pin_locked":
            left = self.lockout_left()
            if left != self._lockout_shown:
                self._lockout_shown = left
                self._message = ("pin_locked", {"n": left}) if left else ("pin_again", {})
                self._notify("message")

    def message(self) -> str | None:
        if self._message is None:
            return None
        key, fields = self._message
        lang = self.session.lang
        shown = {
            k: when_text(v, self.tz, lang, self.clock.now()) if isinstance(v, datetime) else v
            for k, v in fields.items()
        }
        return say(key, lang, **shown)

    def handed_over(self) -> bool:
        """The last thing done at the desk was a handover, recorded (the done panel's tick)."""
        return self._message is not None and self._message[0] == "handed_over"

    def message_is_problem(self) -> bool:
        """The message is a refusal or a wrong PIN (shown in the error colour), not a
        greeting or a result."""
        return self._message is not None and self._message[0] not in _GOOD_NEWS

    def reset(self) -> None:
        self.lock()

    def close(self) -> None:
        self.desk.close()
        self.unlocker.close()

    # -- inside --------------------------------------------------------------------------

    def _active(self) -> StaffSession:
        if self.staff is None:
            raise PickupRefused(Refusal.SESSION_ENDED, "The staff session has ended.")
        return self.staff

    def _find(self, find: Callable[[], PickupOrder]) -> bool:
        self.session.touch()
        if self.step not in (PickupStep.READY, PickupStep.DONE, PickupStep.ORDER):
            return False
        if self.staff is None or not self.staff.active():
            self.lock("staff_locked_idle")
            return False
        self.staff.touch()
        try:
            self.order = find()
        except PickupRefused as err:
            self.order = None
            self._refused(err)
            if self.step is not PickupStep.LOCKED:
                self._set(PickupStep.READY)
            return False
        self._message = None
        self._set(PickupStep.ORDER)
        return True

    def _refused(self, err: PickupRefused) -> None:
        if err.code is Refusal.SESSION_ENDED:
            self.lock("staff_locked_idle")
            return
        if err.code is Refusal.ALREADY_HANDED_OVER:
            self.order = None
            self._set(PickupStep.READY)
            self._already(err)
            return
        self._say(f"refusal_{err.code.value}", order=err.order_id or "")

    def _already(self, err: PickupRefused) -> None:
        when: object = err.handed_over_at or ""  # formatted when shown, in the language then
        if err.handed_over_by:
            name = self.unlocker.staff_name(err.handed_over_by) or err.handed_over_by
            self._say("already_by", order=err.order_id or "", when=when, name=name)
        else:
            self._say("already_central", order=err.order_id or "", when=when)

    def _say(self, key: str, **fields: object) -> None:
        self._message = (key, fields)
        self._lockout_shown = None
        self._notify("message")

    def _set(self, step: PickupStep) -> None:
        if step is not self.step:
            self.step = step
            self._notify("step")
