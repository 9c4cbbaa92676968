"""Revoking codes at central; the list goes to every kiosk with the keys (``publish``).

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, delete, select

from edge_sync.protocol.tokens import (
    ALL_GENERATIONS,
    MAX_REVOCATIONS,
    MAX_VALIDITY_DAYS,
    Revocation,
    Revocations,
    profile_scope,
    scope_hash,
)

from ...store.sql import insert_for
from ...store.token_tables import token_revocations

log = logging.getLogger(__name__)


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
    return changed


def revoke_profiles(conn: Connection, profile_ids: Iterable[str], at: datetime) -> int:
    """Every code of these profiles (check-in and campaign recipient codes), for good."""
    return revoke(conn, (profile_scope(p) for p in profile_ids), at)


def in_force(conn: Connection, today: date) -> list[Revocation]:
    """The revocations still needed (``until`` not passed), for the kiosks: at most
    ``MAX_REVOCATIONS``, the most recent first. Past that, the oldest are left out of
    what the kiosks get (with a warning); central itself checks against all of them.
    Revoking never fails for the cap: an erasure must always go through."""
    t = token_revocations
    rows = conn.execute(
        select(t.c.scope_hash, t.c.generation, t.c.until)
        .where(t.c.until >= today)
        .order_by(t.c.revoked_at.desc(), t.c.scope_hash)
        .limit(MAX_REVOCATIONS + 1)
    ).all()
    if len(rows) > MAX_REVOCATIONS:
        log.warning(
            "tokens: more than %d code scopes are revoked; the kiosks get the newest %d "
            "(central still refuses them all): revoke by campaign or rotate keys instead "
            "of revoking code by code",
            MAX_REVOCATIONS,
            MAX_REVOCATIONS,
        )
        rows = rows[:MAX_REVOCATIONS]
    return sorted(
        (Revocation(r.scope_hash, r.generation, r.until) for r in rows), key=lambda r: r.scope
    )


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
