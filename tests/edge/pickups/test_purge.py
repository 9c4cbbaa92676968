"""Personal data of finished pickups leaves the device; the answer to a second scan stays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edge_sync.pickups import KEEP_DAYS, PickupRefused, Refusal, apply_upserts, purge
from edge_sync.protocol.ids import format_ts

from .helpers import NOW, ready_order, upsert


def purge_at(conn, when):
    conn.execute("BEGIN IMMEDIATE")
    done = purge(conn, when)
    conn.execute("COMMIT")
    return done


def personal(conn, order_id):
    return conn.execute(
        "SELECT lines, initials, code_hash FROM pickup_orders WHERE order_id = ?", (order_id,)
    ).fetchone()


def test_a_handed_over_order_keeps_only_what_answers_a_second_scan(conn, desk, session):
    token = ready_order(conn, "o-pppp0001")
    desk.confirm(session("anna"), desk.scan(token.text))
    assert personal(conn, "o-pppp0001") == (None, None, None)
    later = NOW + timedelta(days=KEEP_DAYS - 1)
    purge_at(conn, later)
    with pytest.raises(PickupRefused) as exc:
        desk.lookup(session("ben"), "o-pppp0001", later)
    assert exc.value.code is Refusal.ALREADY_HANDED_OVER and "Anna Berg" in exc.value.message
    # after KEEP_DAYS the minimal record and the desk's log of it go too
    done = purge_at(conn, NOW + timedelta(days=KEEP_DAYS + 1))
    assert done.deleted == 1
    assert conn.execute("SELECT count(*) FROM pickup_orders").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM pickup_log").fetchone()[0] == 0


def test_an_order_past_its_collect_by_date_is_cleared_and_refused(conn, desk, session):
    ready_order(conn, "o-pppp0002", collect_by=format_ts(NOW + timedelta(hours=1)))
    ready_order(conn, "o-pppp0003")
    done = purge_at(conn, NOW + timedelta(hours=2))
    assert done.cleared == 1
    assert personal(conn, "o-pppp0002") == (None, None, None)
    assert personal(conn, "o-pppp0003")[1] == "J.D."  # still due: untouched
    with pytest.raises(PickupRefused) as exc:
        desk.lookup(session("ben"), "o-pppp0002")
    assert exc.value.code is Refusal.PAST_COLLECT_BY


@pytest.mark.parametrize("state", ["picked_up", "no_show", "cancelled"])
def test_central_ending_an_order_clears_it(conn, desk, session, state):
    ready_order(conn, "o-pppp0004")
    conn.execute("BEGIN IMMEDIATE")
    kw = {"picked_up_at": format_ts(NOW)} if state == "picked_up" else {}
    apply_upserts(conn, [upsert("o-pppp0004", 2, state, **kw)], NOW)
    conn.execute("COMMIT")
    assert personal(conn, "o-pppp0004") == (None, None, None)
    with pytest.raises(PickupRefused) as exc:
        desk.lookup(session("ben"), "o-pppp0004")
    want = {"picked_up": Refusal.ALREADY_HANDED_OVER, "no_show": Refusal.NO_SHOW,
            "cancelled": Refusal.CANCELLED}[state]  # fmt: skip
    assert exc.value.code is want
    if state == "picked_up":
        assert "another kiosk" in exc.value.message


def test_an_upsert_never_undoes_a_handover_made_here(conn, desk, session):
    token = ready_order(conn, "o-pppp0005")
    desk.confirm(session("ben"), desk.scan(token.text))
    conn.execute("BEGIN IMMEDIATE")  # central had not heard of it yet: ready, a later revision
    apply_upserts(conn, [upsert("o-pppp0005", 2, code_hash=token.token_hash)], NOW)
    conn.execute("COMMIT")
    assert personal(conn, "o-pppp0005") == (None, None, None)
    with pytest.raises(PickupRefused) as exc:
        desk.scan(token.text)
    assert exc.value.code is Refusal.ALREADY_HANDED_OVER and "Ben Ode" in exc.value.message
