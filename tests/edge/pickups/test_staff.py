"""Staff unlock: PINs checked offline, wrong ones counted in edge.db."""

from __future__ import annotations

import pytest

from edge_sync.pickups import StaffUnlock, UnlockRefused
from edge_sync.pickups.staff import MAX_LOCK_S, lock_seconds

from .helpers import STAFF


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def wrong(u: StaffUnlock) -> UnlockRefused:
    with pytest.raises(UnlockRefused) as exc:
        u.unlock("999999")
    return exc.value


def test_the_right_pin_unlocks_with_who_and_when(conn, db_path):
    clock = Clock()
    u = StaffUnlock(db_path, clock=clock, idle_s=60)
    try:
        s = u.unlock(STAFF["ben"][1])
        assert (s.staff_id, s.name, s.started_at) == ("ben", "Ben Ode", clock.t)
        assert u.unlock(STAFF["anna"][1], staff_id="anna").staff_id == "anna"
        with pytest.raises(UnlockRefused):  # Ben's PIN is not Anna's
            u.unlock(STAFF["ben"][1], staff_id="anna")
    finally:
        u.close()


def test_wrong_pins_say_how_many_tries_are_left_then_lock_and_the_lock_grows(conn, db_path):
    clock = Clock()
    u = StaffUnlock(db_path, clock=clock)
    try:
        msgs = [str(wrong(u)) for _ in range(4)]
        assert msgs == [
            "Wrong PIN, 4 tries left", "Wrong PIN, 3 tries left",
            "Wrong PIN, 2 tries left", "Wrong PIN, 1 try left",
        ]  # fmt: skip
        fifth = wrong(u)
        assert fifth.locked and fifth.retry_in_s == 30
        assert "Too many wrong PINs: try again in 30 s" in str(fifth)
        clock.t += 15
        locked = wrong(u)
        assert str(locked) == "Too many wrong PINs: try again in 15 s"
        with pytest.raises(UnlockRefused, match="try again in 15 s"):
            u.unlock(STAFF["anna"][1])  # the right PIN is not even checked while locked
        clock.t += 15
        assert wrong(u).retry_in_s == 60  # the sixth wrong PIN: twice as long
        clock.t += 60
        assert u.unlock(STAFF["anna"][1]).staff_id == "anna"  # and the count starts again
        assert str(wrong(u)) == "Wrong PIN, 4 tries left"
    finally:
        u.close()
    assert [lock_seconds(n) for n in (4, 5, 6, 7)] == [0, 30, 60, 120]
    assert lock_seconds(40) == MAX_LOCK_S


def test_the_lock_out_survives_reopening_the_database(conn, db_path):
    clock = Clock()
    u = StaffUnlock(db_path, clock=clock)
    for _ in range(5):
        wrong(u)
    u.close()  # the kiosk restarts
    again = StaffUnlock(db_path, clock=clock)
    try:
        clock.t += 10
        with pytest.raises(UnlockRefused, match="try again in 20 s"):
            again.unlock(STAFF["anna"][1])
        # A clock set far back cannot lock for longer than the longest lock-out.
        clock.t -= 10 * 24 * 3600
        assert again.locked_for() == MAX_LOCK_S
    finally:
        again.close()


def test_without_a_staff_list_nobody_unlocks(outbox, db_path):
    u = StaffUnlock(db_path)
    try:
        assert str(wrong(u)) == "Wrong PIN, 4 tries left"
    finally:
        u.close()


def test_a_session_ends_after_inactivity_and_use_keeps_it_open(conn, db_path):
    clock = Clock()
    u = StaffUnlock(db_path, clock=clock, idle_s=120)
    try:
        s = u.unlock(STAFF["anna"][1])
        clock.t += 100
        assert s.active()
        s.touch()
        clock.t += 100
        assert s.active()
        clock.t += 21
        assert not s.active()
        s2 = u.unlock(STAFF["anna"][1])
        s2.end()
        assert not s2.active()
    finally:
        u.close()
