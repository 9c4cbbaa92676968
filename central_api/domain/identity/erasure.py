"""Erasure: one request removes a person from central and leaves no row that names them.

Removed: the profile (and profiles merged into it), aliases, session links, consents,
the ledger, touchpoints, stages, crossings, orders, merge records, its campaign
recipient codes, the online events sent under its identifiers, the kiosk events whose
data name the profile (``visit.linked``, ``consent.recorded``), and dead letters that
mention any of its ids.
Kept: kiosk events that only belonged to its sessions (with the link gone they are
anonymous, like any unlinked session) and aggregate counters. What remains is a row in
``erasures`` with counts and who asked — no personal data, not even the profile id.
Its QR codes are revoked (by hash, ``tokens.revocations``), and the kiosks learn it with
the next keys message; a link made with one of them is refused at ingest from now on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, or_, select

from ...store.code_tables import campaign_codes
from ...store.profile_tables import (
    consents,
    erasures,
    merges,
    online_events,
    order_events,
    orders,
    profile_aliases,
    profile_events,
    profiles,
    score_ledger,
    session_links,
    stages_reached,
    threshold_crossings,
    touchpoints,
)
from ...store.tables import dead_letters, events
from ..tokens.revocations import revoke_profiles
from .identity import UnknownProfile, live_profile

#: kiosk event types whose data carry a profile id (a campaign recipient's is its profile)
_NAMING_TYPES = ("visit.linked", "consent.recorded", "campaign.scanned")

#: tables keyed by profile_id, children first (foreign keys)
_BY_PROFILE: tuple[Table, ...] = (
    score_ledger, touchpoints, stages_reached, threshold_crossings, consents, session_links,
    campaign_codes,
)  # fmt: skip

#: other modules' tables that hold rows about a profile register a cleaner here
#: (called inside the same transaction with the profile ids and identifiers)
EXTRA_CLEANERS: list[Any] = []


def _merged_into(conn: Connection, pid: str) -> list[str]:
    """The profile and every profile whose history was merged into it."""
    found, frontier = [pid], [pid]
    while frontier:
        rows = (
            conn.execute(select(profiles.c.id).where(profiles.c.merged_into.in_(frontier)))
            .scalars()
            .all()
        )
        frontier = [r for r in rows if r not in found]
        found.extend(frontier)
    return found


def erase_profile(
    conn: Connection, profile_id: str, requested_by: str, at: datetime
) -> dict[str, int]:
    if conn.execute(select(profiles.c.id).where(profiles.c.id == profile_id)).first() is None:
        raise UnknownProfile(f"no profile {profile_id}")
    # A merged profile's history lives in its survivor: erase the whole merged group.
    ids = _merged_into(conn, live_profile(conn, profile_id))
    aliases = conn.execute(
        select(profile_aliases.c.kind, profile_aliases.c.value).where(
            profile_aliases.c.profile_id.in_(ids)
        )
    ).all()
    identifiers = ids + [a.value for a in aliases]
    event_ids = set(
        conn.execute(
            select(profile_events.c.event_id).where(profile_events.c.profile_id.in_(ids))
        ).scalars()
    )
    counts: dict[str, int] = {}

    def gone(name: str, stmt: Any) -> None:
        counts[name] = counts.get(name, 0) + (conn.execute(stmt).rowcount or 0)

    for table in _BY_PROFILE:
        gone(table.name, delete(table).where(table.c.profile_id.in_(ids)))
    order_ids = (
        conn.execute(select(orders.c.order_id).where(orders.c.profile_id.in_(ids))).scalars().all()
    )
    if order_ids:
        gone("order_events", delete(order_events).where(order_events.c.order_id.in_(order_ids)))
    gone("orders", delete(orders).where(orders.c.profile_id.in_(ids)))
    gone("profile_events", delete(profile_events).where(profile_events.c.profile_id.in_(ids)))
    gone("profile_aliases", delete(profile_aliases).where(profile_aliases.c.profile_id.in_(ids)))
    values = [a.value for a in aliases]
    gone(
        "online_events",
        delete(online_events).where(
            or_(
                online_events.c.id.in_(event_ids or [""]),
                online_events.c.customer_id.in_(values or [""]),
                online_events.c.email_sha256.in_(values or [""]),
            )
        ),
    )
    naming = [
        r.id
        for r in conn.execute(
            select(events.c.id, events.c.data).where(events.c.type.in_(_NAMING_TYPES))
        )
        if (r.data or {}).get("profile_id") in ids or (r.data or {}).get("recipient_id") in ids
    ]
    if naming:
        gone("events", delete(events).where(events.c.id.in_(naming)))
    gone(
        "dead_letters",
        delete(dead_letters).where(or_(*(dead_letters.c.payload.contains(v) for v in identifiers))),
    )
    gone(
        "merges",
        delete(merges).where(or_(merges.c.survivor_id.in_(ids), merges.c.merged_id.in_(ids))),
    )
    revoke_profiles(conn, ids, at)
    for clean in EXTRA_CLEANERS:
        for name, n in clean(conn, ids, identifiers).items():
            counts[name] = counts.get(name, 0) + n
    gone("profiles", delete(profiles).where(profiles.c.id.in_(ids)))
    counts = {k: v for k, v in counts.items() if v}
    conn.execute(insert(erasures).values(at=at, requested_by=requested_by, counts=counts))
    return counts
