"""The simulator's staff member at the pickup desk, and its scripted kiosk lookups: the
device's own flow, not events made up beside it.

A handover is what staff do at the kiosk: unlock with the PIN (``StaffUnlock`` on the
device's edge.db), scan the customer's pickup code (``PickupDesk.scan``, checked
offline) and confirm, which stores ``pickup.confirmed`` in the outbox. So the order
must be on the device first: before each scan the desk waits, up to ``wait_s``, until
the sync daemon has stored it (from the store's snapshot or the ``pickups`` topic) and
holds the key its code is signed with. An order that never comes is an error naming
what is missing, never a made-up confirmation central could only record as a conflict.

``lookup`` is the availability a shopper sees (search, then a product's page: here and
nearby, with distances and how old the data is), read once the device holds central's
latest store data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import EdgeClient
from .inventory.tables import STATUS_KEY
from .pickups import Handover, PickupDesk, PickupOrder, PickupRefused, StaffSession, StaffUnlock
from .protocol import Event
from .protocol.pins import check_pin
from .protocol.tokens import peek

DEFAULT_WAIT_S = 90.0


class DeskNotReady(RuntimeError):
    """What the desk waited for did not reach the device in time; says what is missing."""


@dataclass(frozen=True, slots=True)
class SimStaff:
    staff_id: str
    pin: str

    @classmethod
    def from_pin_file(cls, staff_id: str, path: str | Path) -> SimStaff:
        """The PIN from the file's first line (a PIN never goes on a command line)."""
        try:
            first = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise ValueError(f"PIN file {path}: {err.strerror or err}") from None
        pin = first[0].strip() if first else ""
        try:
            return cls(staff_id, check_pin(pin))
        except ValueError as err:
            raise ValueError(f"PIN file {path}: {err}") from None


def _wait(what: str, ready: Callable[[], bool], wait_s: float, poll_s: float = 0.05) -> None:
    deadline = time.monotonic() + wait_s
    while not ready():
        if time.monotonic() >= deadline:
            raise DeskNotReady(f"not on this device after {wait_s:.0f}s: {what}")
        time.sleep(poll_s)


class SimulatedDesk:
    """One staff member at one device's pickup desk."""

    def __init__(self, client: EdgeClient, staff: SimStaff, wait_s: float = DEFAULT_WAIT_S):
        self.client = client
        self.staff = staff
        self.wait_s = wait_s
        self.desk = PickupDesk(client)
        self.unlock = StaffUnlock(client.outbox.path)
        self._session: StaffSession | None = None
        #: order id → the code it was handed over with, in handover order
        self.handed_over: dict[str, str] = {}
        self.refused = 0

    def session(self) -> StaffSession:
        """The unlocked desk; unlocks (again) with the PIN once the session has ended. The
        staff list comes with the store's data: the desk waits for the member to be on
        it first, as trying a PIN against an empty list would count as a wrong PIN."""
        if self._session is None or not self._session.active():
            sid = self.staff.staff_id
            _wait(
                f"staff member {sid} (the staff list comes with the store's snapshot)",
                lambda: self.unlock.staff_name(sid) is not None,
                self.wait_s,
            )
            self._session = self.unlock.unlock(self.staff.pin, sid)
        return self._session

    def _scan(self, order: dict[str, Any]) -> PickupOrder:
        code = order.get("code")
        if not isinstance(code, str):
            raise ValueError(f"order {order.get('order_id')}: no pickup code to scan")
        fields = peek(code)
        kid = fields.kid if fields is not None else None
        _wait(
            f"order {order['order_id']} (central pushes it on the store's pickups topic and "
            f"with its snapshot) and signing key {kid}",
            lambda: (
                order["order_id"] in self.desk.waiting()
                and (kid is None or self.client.codes.keyring().get(kid) is not None)
            ),
            self.wait_s,
        )
        return self.desk.scan(code)

    def hand_over(self, order: dict[str, Any]) -> Handover:
        """Scan the customer's code and confirm: ``pickup.confirmed`` is in the outbox."""
        session = self.session()
        done = self.desk.confirm(session, self._scan(order))
        self.handed_over[done.order_id] = order["code"]
        return done

    def refuse(self, order: dict[str, Any], reason: str = "id_mismatch") -> Event:
        """Scan the code and refuse the handover (``pickup.refused``); the order stays."""
        session = self.session()
        event = self.desk.refuse(session, self._scan(order), reason)
        self.refused += 1
        return event

    def scan_again(self) -> dict[str, str] | None:
        """Scan the first handed-over order's code once more, as a customer coming back
        would: the desk's refusal, or None when nothing was handed over."""
        if not self.handed_over:
            return None
        order_id, code = next(iter(self.handed_over.items()))
        try:
            again = self.desk.scan(code)
        except PickupRefused as refused:
            return {"order_id": order_id, "refusal": refused.code.value, "message": refused.message}
        raise AssertionError(f"a second scan of {order_id} was accepted: {again}")

    def close(self) -> None:
        self.desk.close()
        self.unlock.close()


def _caught_up(client: EdgeClient) -> bool:
    status = client.outbox.get_state(STATUS_KEY)
    if not isinstance(status, dict) or status.get("version") is None:
        return False
    return status["version"] >= (status.get("central_version") or 0)


def lookup(client: EdgeClient, query: str, wait_s: float = DEFAULT_WAIT_S) -> dict[str, Any]:
    """Search ``query`` and open the product page of the hit named so (else the first
    hit), once the device holds the latest store data central announced (its manifest)."""
    _wait("the store's data (snapshot)", lambda: _caught_up(client), wait_s)
    found = client.availability.search(query, limit=5)
    out: dict[str, Any] = {
        "query": query,
        "hits": [
            {"sku": h.product.sku, "name": h.product.name, "here": h.here.state,
             "quantity": h.here.quantity}
            for h in found.hits
        ],
        "corrected": found.corrected,
    }  # fmt: skip
    out["sync"] = client.outbox.get_state(STATUS_KEY)
    if not found.hits:
        return out
    # the product the shopper meant: the one named exactly so, else the best hit
    exact = [h for h in found.hits if h.product.name.casefold() == query.strip().casefold()]
    page = client.availability.product((exact or found.hits)[0].product.sku)
    assert page is not None  # a search hit is in the same table
    out["product"] = {
        "sku": page.product.sku, "name": page.product.name, "brand": page.product.brand,
        "price": f"{page.product.price_minor / 100:.2f} {page.product.currency}",
        "here": {"state": page.here.state, "quantity": page.here.quantity},
        "nearby": [
            {"store_id": n.store_id, "name": n.name, "distance_km": n.distance_km,
             "state": n.state, "quantity": n.quantity, "stock_as_of": n.stock_as_of}
            for n in page.nearby
        ],
        "data": {"version": page.data.version, "built_at": page.data.built_at,
                 "loaded_at": page.data.loaded_at, "delta_at": page.data.delta_at,
                 "stock_as_of": page.data.stock_as_of, "age_s": page.data.age_s},
    }  # fmt: skip
    return out
