"""The pickup desk: find the order offline, hand it over once, refuse with a reason."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from edge_sync import EdgeClient, OutboxFull
from edge_sync.pickups import PickupDesk, PickupLine, PickupRefused, Refusal, get_order
from edge_sync.protocol.tokens import Reason
from tests.edge.conftest import all_rows

from .helpers import NOW, TODAY, pickup_code, ready_order


def refusal(call, *args) -> PickupRefused:
    with pytest.raises(PickupRefused) as exc:
        call(*args)
    return exc.value


def events(outbox) -> list[tuple[dict, str]]:
    return [(json.loads(r.payload), r.priority) for r in all_rows(outbox)]


def test_a_scanned_code_shows_only_lines_items_and_initials(conn, desk, session):
    token = ready_order(conn, "o-aaaa0001")
    got = desk.scan(token.text)
    assert got.lines == (PickupLine("SKU-1", "Trail shoe", 1), PickupLine("SKU-2", "Sock", 2))
    assert (got.items, got.initials, got.method) == (3, "J.D.", "qr")
    assert set(got.__dataclass_fields__) == {
        "order_id",
        "lines",
        "items",
        "initials",
        "method",
        "token_hash",
    }
    assert desk.open_token(token).order_id == "o-aaaa0001"  # from the scan controller
    assert desk.lookup(session("ben"), " O-AAAA0001 ").method == "lookup"


def test_expired_other_store_and_unknown_order_codes_are_refused_clearly(conn, desk, session):
    ready_order(conn, "o-aaaa0002")
    old = pickup_code("o-aaaa0002", not_before=TODAY - timedelta(days=9),
                      not_after=TODAY - timedelta(days=1))  # fmt: skip
    r = refusal(desk.scan, old.text)
    assert r.code is Refusal.EXPIRED
    assert f"valid until {TODAY - timedelta(days=1)}" in r.message

    other = pickup_code("o-aaaa0002", store_id="s017")
    r = refusal(desk.scan, other.text)
    assert r.code is Refusal.WRONG_STORE and "store s017" in r.message and "s042" in r.message
    assert refusal(desk.open_token, other).code is Refusal.WRONG_STORE

    r = refusal(desk.scan, pickup_code("o-zzzz9999").text)
    assert r.code is Refusal.UNKNOWN_ORDER and "o-zzzz9999" in r.message
    assert refusal(desk.lookup, session("ben"), "o-zzzz9999").code is Refusal.UNKNOWN_ORDER
    assert refusal(desk.lookup, session("ben"), "DROP TABLE").code is Refusal.UNKNOWN_ORDER

    soon = pickup_code("o-aaaa0002", not_before=TODAY + timedelta(days=2))
    r = refusal(desk.scan, soon.text)
    assert r.code is Refusal.NOT_YET_VALID and str(TODAY + timedelta(days=2)) in r.message

    assert refusal(desk.scan, "hello").code is Refusal.INVALID_CODE
    r = refusal(desk.scan, pickup_code("o-1").text.replace("A", "B", 1))
    assert r.code is Refusal.INVALID_CODE


def test_a_replaced_code_is_refused(conn, desk):
    ready_order(conn, "o-aaaa0003")  # stores the hash of the order's current code
    # a code central issued for the order before or after: genuine, but not the current one
    other = pickup_code("o-aaaa0003", not_after=TODAY + timedelta(days=9))
    r = refusal(desk.scan, other.text)
    assert r.code is Refusal.CODE_REPLACED


def test_confirm_stores_the_event_and_a_second_confirm_says_when_and_by_whom(
    conn, desk, outbox, session
):
    token = ready_order(conn, "o-aaaa0004")
    order = desk.scan(token.text)
    done = desk.confirm(session("anna"), order)
    [(ev, priority)] = events(outbox)
    assert priority == "critical" and ev["type"] == "pickup.confirmed"
    assert ev["data"] == {
        "order_id": "o-aaaa0004", "staff_id": "anna", "items": 3, "method": "qr",
        "token_hash": token.token_hash,
    }  # fmt: skip
    assert done.event.id == ev["id"] and done.at == NOW
    local = get_order(conn, "o-aaaa0004")
    assert local.handed_over and local.handed_over_by == "anna" and local.lines is None

    for again in (
        lambda: desk.confirm(session("ben"), order),  # another staff member, same screen
        lambda: desk.scan(token.text),  # the code scanned again
        lambda: desk.lookup(session("ben"), "o-aaaa0004"),
    ):
        r = refusal(again)
        assert r.code is Refusal.ALREADY_HANDED_OVER
        assert (
            "by Anna Berg (anna)" in r.message and NOW.astimezone().strftime("%H:%M") in r.message
        )
        assert (r.handed_over_at, r.handed_over_by) == (NOW, "anna")
    assert len(events(outbox)) == 1
    # the kiosk's ordinary scan path knows the one-time code is used, too
    with pytest.raises(Exception) as exc:
        EdgeClient(outbox).verify_code(token.text, now=NOW)
    assert exc.value.reason is Reason.ALREADY_USED


def test_an_ended_session_cannot_confirm(conn, desk, session, outbox):
    order = desk.scan(ready_order(conn, "o-aaaa0005").text)
    s = session("anna")
    s.end()
    assert refusal(desk.confirm, s, order).code is Refusal.SESSION_ENDED
    assert refusal(desk.lookup, s, "o-aaaa0005").code is Refusal.SESSION_ENDED  # typed: staff only
    assert events(outbox) == [] and not get_order(conn, "o-aaaa0005").handed_over


def test_a_full_outbox_leaves_the_order_waiting(conn, make_outbox, session, db_path):
    small = make_outbox(max_rows=1)
    small.enqueue("pickup.refused", {"order_id": "o-x", "staff_id": "ben", "reason": "other"})
    d = PickupDesk(EdgeClient(small), clock=lambda: NOW)
    try:
        order = d.scan(ready_order(conn, "o-aaaa0006").text)
        with pytest.raises(OutboxFull):
            d.confirm(session("anna"), order)
        assert not get_order(conn, "o-aaaa0006").handed_over  # neither happened
        assert get_order(conn, "o-aaaa0006").lines is not None
    finally:
        d.close()


def test_two_threads_confirming_at_once_hand_over_once(conn, desk, outbox, session):
    order = desk.scan(ready_order(conn, "o-aaaa0007").text)
    barrier = threading.Barrier(8)
    results: list[object] = []

    def tap(staff: str) -> None:
        s = session(staff)
        barrier.wait()
        try:
            results.append(desk.confirm(s, order))
        except PickupRefused as err:
            results.append(err.code)

    threads = [threading.Thread(target=tap, args=(("anna", "ben")[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(map(str, results)).count(str(Refusal.ALREADY_HANDED_OVER)) == 7
    assert [e["type"] for e, _ in events(outbox)] == ["pickup.confirmed"]


CONFIRM_IN_CHILD = """
import os, sys, time
from edge_sync import EdgeClient, Outbox
from edge_sync.pickups import PickupDesk, PickupRefused, StaffUnlock
from tests.edge.pickups.helpers import NOW, STAFF
db, text, go = sys.argv[1:4]
ob = Outbox(db, store_id="s042", device_id="s042-k1", max_rows=1000, max_bytes=2**24,
            clock_source="assume_synced")
desk = PickupDesk(EdgeClient(ob), clock=lambda: NOW)
session = StaffUnlock(db).unlock(STAFF["ben"][1])
order = desk.scan(text)
print("ready", flush=True)
deadline = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.001)
try:
    desk.confirm(session, order)
    print("confirmed", flush=True)
except PickupRefused as err:
    print(err.code, flush=True)
"""


def test_two_processes_confirming_at_once_hand_over_once(conn, db_path, outbox, child, tmp_path):
    text = ready_order(conn, "o-aaaa0008").text
    go = tmp_path / "go"
    kids = [child(CONFIRM_IN_CHILD, str(db_path), text, str(go)) for _ in range(3)]
    for k in kids:
        k.wait_lines(1)
    go.touch()  # all three tap "confirm" at once
    outcomes = [k.finish()[-1] for k in kids]
    assert sorted(outcomes) == ["already_handed_over", "already_handed_over", "confirmed"]
    assert [e["type"] for e, _ in events(outbox)] == ["pickup.confirmed"]


def test_refuse_sends_pickup_refused_and_the_order_stays_waiting(conn, desk, outbox, session):
    order = desk.scan(ready_order(conn, "o-aaaa0009").text)
    ev = desk.refuse(session("ben"), order, "id_mismatch", "name on ID differs")
    [(row, priority)] = events(outbox)
    assert priority == "critical" and row["id"] == ev.id and row["type"] == "pickup.refused"
    assert row["data"] == {
        "order_id": "o-aaaa0009", "staff_id": "ben", "reason": "id_mismatch",
        "note": "name on ID differs",
    }  # fmt: skip
    assert desk.lookup(session("ben"), "o-aaaa0009").order_id == "o-aaaa0009"
    with pytest.raises(ValueError, match="must be one of"):
        desk.refuse(session("ben"), order, "rude")
    log = conn.execute("SELECT action, staff_id, detail FROM pickup_log").fetchall()
    assert log == [("refused", "ben", "id_mismatch")]
