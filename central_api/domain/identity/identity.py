"""Profiles and identity: aliases, kiosk sessions linked by a signed token, merges, erasure.

Rules (docs/architecture.md, "Central"):

* a kiosk session becomes part of a profile when a ``visit.linked`` event names it;
  that session's earlier (and later) events count for the profile;
* if two links claim one session, the earliest by ``(occurred_at, event_id)`` wins,
  whatever order they arrive in (the linking runs in bulk inside ingest:
  ``kiosk_links._link_sessions``);
* two already-identified profiles are never merged automatically; a merge is an
  explicit request, the older profile survives, all history moves, and the merge
  record allows an undo.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from ...store.profile_tables import (
    consents,
    merges,
    profile_aliases,
    profile_events,
    profiles,
    session_links,
)
from ...store.sql import insert_ignore


class IdentityError(Exception):
    """A request the identity rules refuse (the API maps it to 409)."""


class UnknownProfile(IdentityError):
    pass


def new_profile_id() -> str:
    return f"p-{uuid.uuid4().hex[:20]}"


def ensure_profile(conn: Connection, profile_id: str, at: datetime) -> None:
    conn.execute(
        insert_ignore(conn, profiles).values(
            id=profile_id, created_at=at, updated_at=at, status="active", attributes={}
        )
    )


def live_profile(conn: Connection, profile_id: str) -> str:
    """Follow merges: the profile that now holds ``profile_id``'s history."""
    seen = set()
    current = profile_id
    while current not in seen:
        seen.add(current)
        row = conn.execute(
            select(profiles.c.status, profiles.c.merged_into).where(profiles.c.id == current)
        ).first()
        if row is None or row.status != "merged" or row.merged_into is None:
            return current
        current = row.merged_into
    return current


def resolve_alias(conn: Connection, kind: str, value: str, at: datetime) -> str:
    """The profile an external id belongs to, created when it is new (race-safe)."""
    row = conn.execute(
        select(profile_aliases.c.profile_id).where(
            profile_aliases.c.kind == kind, profile_aliases.c.value == value
        )
    ).first()
    if row is not None:
        return live_profile(conn, row.profile_id)
    pid = new_profile_id()
    ensure_profile(conn, pid, at)
    conn.execute(
        insert_ignore(conn, profile_aliases).values(
            kind=kind, value=value, profile_id=pid, created_at=at
        )
    )
    # Another worker may have won the race for this alias: use whatever is stored.
    owner = conn.execute(
        select(profile_aliases.c.profile_id).where(
            profile_aliases.c.kind == kind, profile_aliases.c.value == value
        )
    ).scalar_one()
    if owner != pid:
        conn.execute(delete(profiles).where(profiles.c.id == pid))
    return live_profile(conn, owner)


def attach(conn: Connection, profile_id: str, event_ids: Iterable[str]) -> None:
    rows = [{"profile_id": profile_id, "event_id": e} for e in set(event_ids)]
    if rows:
        conn.execute(insert_ignore(conn, profile_events), rows)


def detach(conn: Connection, profile_id: str, event_ids: Iterable[str]) -> None:
    ids = list(set(event_ids))
    if ids:
        conn.execute(
            delete(profile_events).where(
                profile_events.c.profile_id == profile_id, profile_events.c.event_id.in_(ids)
            )
        )


def merge(conn: Connection, a: str, b: str, reason: str, at: datetime) -> dict[str, Any]:
    """Merge two profiles on request: the older survives and takes all history."""
    rows = {r.id: r for r in conn.execute(select(profiles).where(profiles.c.id.in_([a, b]))).all()}
    for pid in (a, b):
        if pid not in rows:
            raise UnknownProfile(f"no profile {pid}")
        if rows[pid].status != "active":
            raise IdentityError(f"profile {pid} is already merged into {rows[pid].merged_into}")
    if a == b:
        raise IdentityError("a profile cannot be merged with itself")
    survivor, merged = sorted((a, b), key=lambda p: (rows[p].created_at, p))
    moved: dict[str, Any] = {
        "aliases": [
            [r.kind, r.value]
            for r in conn.execute(
                select(profile_aliases).where(profile_aliases.c.profile_id == merged)
            )
        ],
        "sessions": [
            [r.device_id, r.session_id]
            for r in conn.execute(select(session_links).where(session_links.c.profile_id == merged))
        ],
        "events": [
            r.event_id
            for r in conn.execute(
                select(profile_events.c.event_id).where(profile_events.c.profile_id == merged)
            )
        ],
        "consents": [
            [r.event_id, r.purpose]
            for r in conn.execute(select(consents).where(consents.c.profile_id == merged))
        ],
        "attributes": rows[merged].attributes,
    }
    _move(conn, merged, survivor, moved)
    merged_attrs = {**rows[merged].attributes, **rows[survivor].attributes}
    conn.execute(
        update(profiles)
        .where(profiles.c.id == survivor)
        .values(attributes=merged_attrs, updated_at=at)
    )
    conn.execute(
        update(profiles)
        .where(profiles.c.id == merged)
        .values(status="merged", merged_into=survivor, updated_at=at)
    )
    moved["survivor_attributes"] = rows[survivor].attributes
    merge_id = conn.execute(
        insert(merges)
        .values(survivor_id=survivor, merged_id=merged, at=at, reason=reason, undo=moved)
        .returning(merges.c.id)
    ).scalar_one()
    return {"merge_id": merge_id, "survivor": survivor, "merged": merged}


def undo_merge(conn: Connection, merge_id: int, at: datetime) -> dict[str, Any]:
    row = conn.execute(select(merges).where(merges.c.id == merge_id)).first()
    if row is None:
        raise IdentityError(f"no merge {merge_id}")
    if row.undone_at is not None:
        raise IdentityError(f"merge {merge_id} was already undone")
    _move(conn, row.survivor_id, row.merged_id, row.undo)
    conn.execute(
        update(profiles)
        .where(profiles.c.id == row.merged_id)
        .values(status="active", merged_into=None, attributes=row.undo["attributes"], updated_at=at)
    )
    conn.execute(
        update(profiles)
        .where(profiles.c.id == row.survivor_id)
        .values(attributes=row.undo["survivor_attributes"], updated_at=at)
    )
    conn.execute(update(merges).where(merges.c.id == merge_id).values(undone_at=at))
    return {"survivor": row.survivor_id, "restored": row.merged_id}


def _move(conn: Connection, src: str, dst: str, what: dict[str, Any]) -> None:
    for kind, value in what["aliases"]:
        conn.execute(
            update(profile_aliases)
            .where(profile_aliases.c.kind == kind, profile_aliases.c.value == value)
            .values(profile_id=dst)
        )
    for device_id, session_id in what["sessions"]:
        conn.execute(
            update(session_links)
            .where(session_links.c.device_id == device_id, session_links.c.session_id == session_id)
            .values(profile_id=dst)
        )
    detach(conn, src, what["events"])
    attach(conn, dst, what["events"])
    for event_id, purpose in what["consents"]:
        conn.execute(
            update(consents)
            .where(
                and_(
                    consents.c.profile_id == src,
                    consents.c.event_id == event_id,
                    consents.c.purpose == purpose,
                )
            )
            .values(profile_id=dst)
        )
