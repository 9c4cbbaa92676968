"""Revoking codes at central; the list goes to every kiosk with the keys (``publish``).

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, delete, select

from edge_sync.protocol.tokens import (
    ALL_GENERATIONS,
    MAX_REVOCATIONS,
    Revocation,
    Revocations,
    profile_scope,
    scope_hash,
)

from ...store.sql import insert_for
from ...store.token_tables import token_revocations

#: the longest validity central gives a code; a revocation is kept this long after it is
#: made, so that it outlives every code it revokes
MAX_VALIDITY_DAYS = 3 * 366


class TooManyRevocations(Exception):
    """The list pushed to the kiosks would be larger than they accept."""


def revoke(
    conn: Connection,
    scopes: Iterable[str],
    at: datetime,
    generation: int = ALL_GENERATIONS,
    until: date | None = None,
) -> int:
    """Revoke every code of these scopes (unhashed) up to ``generation``. Returns the
    number of scopes newly revoked or raised to a higher generation."""
    last = until or (at.date() + timedelta(days=MAX_VALIDITY_DAYS))
    hashes = sorted({scope_hash(s) for s in scopes})
    if not hashes:
        return 0
    t = token_revocations
    have = {
        r.scope_hash: r for r in conn.execute(select(t).where(t.c.scope_hash.in_(hashes))).all()
    }
    changed = 0
    for h in hashes:
        old = have.get(h)
        if old is None:
            conn.execute(
                insert_for(conn, t)
                .values(scope_hash=h, generation=generation, until=last, revoked_at=at)
                .on_conflict_do_nothing()
            )
            changed += 1
        elif old.generation < generation or old.until < last:
            conn.execute(
                t.update()
                .where(t.c.scope_hash == h)
                .values(
                    generation=max(old.generation, generation),
                    until=max(old.until, last),
                    revoked_at=at,
                )
            )
            changed += 1
    count = conn.execute(select(t.c.scope_hash).limit(MAX_REVOCATIONS + 1)).all()
    if len(count) > MAX_REVOCATIONS:
        raise TooManyRevocations(
            f"more than {MAX_REVOCATIONS} revoked code scopes are in force; the kiosks "
            "accept no more: revoke by campaign or key rotation instead of code by code"
        )
    return changed


def revoke_profiles(conn: Connection, profile_ids: Iterable[str], at: datetime) -> int:
    """Every code of these profiles (check-in and campaign recipient codes), for good."""
    return revoke(conn, (profile_scope(p) for p in profile_ids), at)


def in_force(conn: Connection, today: date) -> list[Revocation]:
    """The revocations still needed (``until`` not passed), oldest day first."""
    t = token_revocations
    rows = conn.execute(
        select(t.c.scope_hash, t.c.generation, t.c.until)
        .where(t.c.until >= today)
        .order_by(t.c.scope_hash)
        .limit(MAX_REVOCATIONS)
    ).all()
    return [Revocation(r.scope_hash, r.generation, r.until) for r in rows]


def prune(conn: Connection, today: date) -> int:
    t = token_revocations
    return conn.execute(delete(t).where(t.c.until < today)).rowcount or 0


def revoked_among(conn: Connection, hashes: Iterable[str]) -> Revocations:
    """The revocations of these scope hashes only (what ingest checks a group against)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return Revocations()
    t = token_revocations
    found: dict[str, int] = {}
    for i in range(0, len(wanted), 5000):
        rows = conn.execute(
            select(t.c.scope_hash, t.c.generation).where(t.c.scope_hash.in_(wanted[i : i + 5000]))
        ).all()
        found.update((r.scope_hash, r.generation) for r in rows)
    return Revocations(found)
