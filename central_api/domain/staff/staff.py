"""Staff members of a store: set (created or changed), removed, listed.

A PIN is checked (``pins.check_pin``: 6 to 12 digits, not a run) and stored only as its
scrypt hash; the plain PIN is never written anywhere. Setting a member to the name and
PIN they already have changes nothing (no new version, so no feed change). Each change
takes the ``staff`` counter (``inventory_versions``) under its row lock; a removal
keeps the row as a tombstone at a new version, so the store's feed sends ``staff-``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from edge_sync.protocol.ids import is_ident
from edge_sync.protocol.pins import check_pin, hash_pin, verify_pin

from ...store.feed_tables import staff
from ...store.sql import insert_for
from ..campaigns.model import LINE_PATTERN
from ..inventory.stores import get_store
from ..inventory.writes import lock_version, set_version

#: what a device accepts as a name (``store_data.check_staff``)
MAX_NAME = 200


class UnknownStaff(Exception):
    def __init__(self, store_id: str, staff_id: str) -> None:
        super().__init__(f"store {store_id} has no staff member {staff_id}")
        self.store_id = store_id
        self.staff_id = staff_id


@dataclass(frozen=True, slots=True)
class Member:
    store_id: str
    staff_id: str
    name: str
    version: int
    updated_at: datetime


def check_staff_id(staff_id: str) -> str:
    if not is_ident(staff_id):
        raise ValueError(
            f"{staff_id!r} is not a staff id: 1 to 64 of a-z 0-9 _ -, lower case, starting "
            "with a letter or digit"
        )
    return staff_id


def check_name(name: str) -> str:
    """One line with a visible character (``LINE_PATTERN``, as the API documents it),
    spaces around it dropped, at most ``MAX_NAME`` characters, valid Unicode."""
    v = name.strip(" ")
    if not re.match(LINE_PATTERN, v) or len(v) > MAX_NAME:
        raise ValueError(
            f"name: one line of 1 to {MAX_NAME} characters, not blank, without control characters"
        )
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
        raise ValueError("name: not valid Unicode text") from None
    return v


def _member(r: object) -> Member:
    return Member(r.store_id, r.staff_id, r.name, r.version, r.updated_at)  # type: ignore[attr-defined]


def set_member(
    conn: Connection, store_id: str, staff_id: str, name: str, pin: str, now: datetime
) -> tuple[Member, bool]:
    """Create or change a member; ``(member, changed)``. ``UnknownStore``; ``ValueError``
    (``pins.BadPin`` among them) for a bad id, name or PIN."""
    check_staff_id(staff_id)
    name = check_name(name)
    check_pin(pin)
    get_store(conn, store_id)
    c = staff.c
    key = (c.store_id == store_id) & (c.staff_id == staff_id)
    have = conn.execute(select(staff).where(key)).first()
    if (
        have is not None and have.removed_at is None and have.name == name
        and verify_pin(pin, have.pin_hash)
    ):  # fmt: skip
        return _member(have), False
    pin_hash = hash_pin(pin)
    version = lock_version(conn, "staff") + 1
    row = {"name": name, "pin_hash": pin_hash, "version": version, "updated_at": now,
           "removed_at": None}  # fmt: skip
    stmt = insert_for(conn, staff).values(store_id=store_id, staff_id=staff_id, **row)
    conn.execute(stmt.on_conflict_do_update(index_elements=["store_id", "staff_id"], set_=row))
    set_version(conn, "staff", version)
    return Member(store_id, staff_id, name, version, now), True


def remove_member(conn: Connection, store_id: str, staff_id: str, now: datetime) -> int:
    """The member leaves the store's list (a tombstone at a new version); returns that
    version. ``UnknownStaff`` when there is no such member (or they were removed)."""
    c = staff.c
    key = (c.store_id == store_id) & (c.staff_id == staff_id) & c.removed_at.is_(None)
    if conn.execute(select(c.staff_id).where(key)).first() is None:
        raise UnknownStaff(store_id, staff_id)
    version = lock_version(conn, "staff") + 1
    conn.execute(staff.update().where(key).values(version=version, updated_at=now, removed_at=now))
    set_version(conn, "staff", version)
    return version


def list_members(conn: Connection, store_id: str) -> list[Member]:
    """The store's current staff by id (``UnknownStore``); never their PIN hashes."""
    get_store(conn, store_id)
    c = staff.c
    q = (
        select(c.store_id, c.staff_id, c.name, c.version, c.updated_at)
        .where(c.store_id == store_id, c.removed_at.is_(None))
        .order_by(c.staff_id)
    )
    return [_member(r) for r in conn.execute(q)]


def staff_version(conn: Connection, store_id: str) -> int:
    """The highest version among the store's staff rows (0: never any)."""
    c = staff.c
    return int(conn.scalar(select(func.max(c.version)).where(c.store_id == store_id)) or 0)
