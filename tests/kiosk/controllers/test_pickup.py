"""The staff pickup flow: PIN (wrong, tries left, lock-out countdown), the order shown
with lines and initials, confirm, a second confirm refused with when and by whom,
refuse with a reason, typed order ids, and the desk locking itself when idle."""

from __future__ import annotations

from edge_sync.pickups import PickupDesk, StaffUnlock
from kiosk.controllers.pickup import PickupStep
from tests.edge.pickups.helpers import STAFF, ready_order

from .conftest import ORDER, Kiosk, db_conn

ANNA_PIN, BEN_PIN = STAFF["anna"][1], STAFF["ben"][1]


def enter(kiosk: Kiosk, pin: str) -> bool:
    p = kiosk.c.pickup
    for d in pin:
        p.digit(d)
    return p.submit_pin()


def unlocked(kiosk: Kiosk):
    p = kiosk.c.pickup
    p.start()
    assert enter(kiosk, ANNA_PIN), p.message()
    return p


def test_wrong_pin_tries_left_then_a_lock_out_countdown(kiosk: Kiosk):
    p = kiosk.c.pickup
    assert p.step is PickupStep.LOCKED
    p.start()
    assert p.step is PickupStep.PIN
    p.digit("1")
    p.digit("x")  # not a digit: ignored
    assert p.pin_mask == "•"
    p.backspace()
    assert p.pin == ""
    assert not enter(kiosk, "000000")
    assert p.step is PickupStep.PIN and p.message() == "Wrong PIN. 4 tries left."
    kiosk.c.session.set_language("de")
    assert p.message() == "Falsche PIN. Noch 4 Versuche."
    kiosk.c.session.set_language("en")
    for _ in range(3):
        assert not enter(kiosk, "000000")
    assert p.message() == "Wrong PIN. 1 try left."
    assert not enter(kiosk, "000000")
    assert p.message() == "Too many wrong PINs. Try again in 30 s."
    # while locked, not even the right PIN is checked
    assert not enter(kiosk, ANNA_PIN) and p.step is PickupStep.PIN
    kiosk.advance(10)
    assert p.lockout_left() == 20 and "20 s" in p.message()
    p.lock()  # leaving and coming back does not hide the lock-out
    p.start()
    assert p.message() == "Too many wrong PINs. Try again in 20 s."
    kiosk.advance(20.25)
    assert p.lockout_left() == 0 and p.message() == "Enter your PIN."
    assert enter(kiosk, ANNA_PIN)
    assert p.step is PickupStep.READY and p.message().startswith("Hello Anna Berg")


def test_scan_confirm_then_a_second_confirm_says_who_and_when(kiosk: Kiosk):
    p = unlocked(kiosk)
    assert p.scan(kiosk.order_code.text)
    assert p.step is PickupStep.ORDER
    view = p.order_view()
    assert view.title == "Order o-1001 · J.D." and view.initials == "J.D."
    assert [ln.text for ln in view.lines] == ["1× Trail shoe", "2× Sock"]
    assert view.items_text == "3 items"
    # meanwhile another member of staff hands the same order over at a second desk
    other_unlock = StaffUnlock(kiosk.db_path, clock=kiosk.clock.time)
    other = PickupDesk(kiosk.client, clock=kiosk.clock.now)
    try:
        ben = other_unlock.unlock(BEN_PIN)
        other.confirm(ben, other.scan(kiosk.order_code.text))
    finally:
        other.close()
        other_unlock.close()
    kiosk.clock.advance(60)
    assert not p.confirm()
    assert p.step is PickupStep.READY and p.order is None
    assert p.message() == (
        f"Order {ORDER} was already handed over at 12:00 by Ben Ode. Do not hand it over again."
    )
    kiosk.c.session.set_language("de")
    assert p.message().startswith(f"Bestellung {ORDER} wurde bereits um 12:00 von Ben Ode")
    assert len(kiosk.events("pickup.confirmed")) == 1


def test_confirm_records_the_handover_and_a_rescan_is_refused(kiosk: Kiosk):
    p = unlocked(kiosk)
    assert p.scan(kiosk.order_code.text)
    assert p.confirm()
    assert p.step is PickupStep.DONE and p.message() == f"Order {ORDER} is handed over. Thank you!"
    [e] = kiosk.events("pickup.confirmed")
    assert e["data"]["order_id"] == ORDER and e["data"]["staff_id"] == "anna"
    assert e["data"]["method"] == "qr"
    p.next_order()
    assert p.step is PickupStep.READY
    assert not p.scan(kiosk.order_code.text)
    assert "already handed over at 12:00 by Anna Berg" in p.message()


def test_refuse_with_a_reason_keeps_the_order_waiting(kiosk: Kiosk):
    p = unlocked(kiosk)
    assert p.type_order_id(ORDER)
    assert p.order.method == "lookup"
    reasons = dict(p.refuse_reasons())
    assert reasons["id_mismatch"] == "ID does not match" and len(reasons) == 6
    assert p.refuse("id_mismatch")
    assert p.step is PickupStep.DONE and "stays waiting" in p.message()
    [e] = kiosk.events("pickup.refused")
    assert e["data"] == {"order_id": ORDER, "staff_id": "anna", "reason": "id_mismatch",
                         "note": None}  # fmt: skip
    p.back()
    assert p.scan(kiosk.order_code.text) and p.step is PickupStep.ORDER


def test_codes_and_ids_the_desk_refuses(kiosk: Kiosk):
    p = unlocked(kiosk)
    assert not p.scan("WIFI:S:guest;T:WPA;P:secret;;")
    assert p.step is PickupStep.READY and p.message().startswith("This pickup code cannot")
    assert not p.type_order_id("o-9999")
    assert p.message().startswith("Order o-9999 is not on this store's pickup list")
    kiosk.c.session.set_language("de")
    assert p.message().startswith("Bestellung o-9999 steht nicht")


def test_the_desk_locks_itself_when_idle(tmp_path):
    from .conftest import make_kiosk

    kiosk = make_kiosk(tmp_path, staff_idle_s=20)
    try:
        p = unlocked(kiosk)
        assert p.scan(kiosk.order_code.text)
        kiosk.advance(19.75)
        assert p.step is PickupStep.ORDER
        kiosk.advance(0.5)
        assert p.step is PickupStep.LOCKED and p.order is None and p.staff is None
        assert p.message().startswith("The desk locked itself")
        assert not p.confirm() and kiosk.events("pickup.confirmed") == []
    finally:
        kiosk.c.close()
        kiosk.client.close()


def test_a_line_the_shop_sent_without_a_name_shows_the_catalog_name(kiosk: Kiosk):
    conn = db_conn(kiosk.db_path)
    try:
        token = ready_order(
            conn, "o-2002", lines=[{"sku": "RJ-01", "quantity": 1},
                                   {"sku": "GONE-1", "quantity": 2}]
        )  # fmt: skip
    finally:
        conn.close()
    p = unlocked(kiosk)
    assert p.scan(token.text), p.message()
    # the catalog's name where it knows the SKU; the SKU itself where it does not
    assert [ln.text for ln in p.order_view().lines] == ["1× Rain Jacket Pro", "2× GONE-1"]
