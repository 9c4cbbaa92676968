"""What the staff PIN screen needs of ``PickupController`` beyond the PIN itself: the
staff list to choose from (then only that person's PIN unlocks), the check split for a
worker thread (the pad ignores keys meanwhile, and a check that outlives its desk is
dropped), and which messages are problems."""

from __future__ import annotations

import threading

from edge_sync.pickups import StaffSession, UnlockRefused
from kiosk.controllers.pickup import PickupStep
from tests.edge.pickups.helpers import STAFF

from .conftest import Kiosk

ANNA_PIN, BEN_PIN = STAFF["anna"][1], STAFF["ben"][1]


def type_pin(kiosk: Kiosk, pin: str) -> None:
    for d in pin:
        kiosk.c.pickup.digit(d)


def test_the_staff_list_and_a_chosen_name_checks_only_that_pin(kiosk: Kiosk) -> None:
    p = kiosk.c.pickup
    p.start()
    assert p.staff_list() == [("anna", "Anna Berg"), ("ben", "Ben Ode")]
    p.choose_staff("anna")
    assert p.chosen == ("anna", "Anna Berg")
    type_pin(kiosk, BEN_PIN)  # Ben's PIN is not Anna's
    assert not p.submit_pin()
    assert p.message() == "Wrong PIN. 4 tries left." and p.message_is_problem()
    assert p.chosen == ("anna", "Anna Berg")  # still Anna's pad
    type_pin(kiosk, ANNA_PIN)
    assert p.submit_pin() and p.staff.staff_id == "anna"
    assert not p.message_is_problem()  # "Hello Anna Berg …"
    p.lock()
    assert p.chosen is None


def test_an_unknown_name_is_no_choice(kiosk: Kiosk) -> None:
    p = kiosk.c.pickup
    p.start()
    p.choose_staff("nobody")
    assert p.chosen is None


def test_the_check_runs_in_a_worker_and_the_pad_waits(kiosk: Kiosk) -> None:
    p = kiosk.c.pickup
    p.start()
    type_pin(kiosk, ANNA_PIN)
    check = p.begin_pin_check()
    assert check is not None and p.checking and p.pin == ""
    assert p.begin_pin_check() is None  # one check at a time
    p.digit("1")
    assert p.pin == ""  # keys wait for the answer
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(p.run_pin_check(check)))
    worker.start()
    worker.join(5)
    assert isinstance(out[0], StaffSession)
    assert p.step is PickupStep.PIN  # nothing changed until the UI thread applies it
    assert p.finish_pin_check(check, out[0])
    assert p.step is PickupStep.READY and not p.checking


def test_a_check_that_outlives_its_desk_is_dropped(kiosk: Kiosk) -> None:
    p = kiosk.c.pickup
    p.start()
    type_pin(kiosk, ANNA_PIN)
    check = p.begin_pin_check()
    result = p.run_pin_check(check)
    p.lock()  # the shopper session reset meanwhile
    p.start()
    assert not p.finish_pin_check(check, result)
    assert p.step is PickupStep.PIN and p.staff is None
    assert isinstance(result, StaffSession) and not result.active()


def test_a_wrong_pin_from_the_worker_says_tries_left(kiosk: Kiosk) -> None:
    p = kiosk.c.pickup
    p.start()
    type_pin(kiosk, "000000")
    check = p.begin_pin_check()
    result = p.run_pin_check(check)
    assert isinstance(result, UnlockRefused)
    assert not p.finish_pin_check(check, result)
    assert p.message() == "Wrong PIN. 4 tries left." and p.message_is_problem()
