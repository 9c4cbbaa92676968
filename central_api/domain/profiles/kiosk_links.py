"""Identity inside the ingest transaction: kiosk events attached to profiles.

A ``visit.linked`` ties its kiosk session to a profile and attaches the session's
events (earlier and later ones); events of linked sessions, consents naming a profile
and pickups of a known order are attached too, and so is kiosk feedback
(``survey.answered``): to the profile it names (created if new, as for a consent), else
to the profile of the order it names, now or when the order arrives. Feedback that
reaches no profile stays an anonymous event of its store (``journeys.feedback``).
Returns the profiles whose facts changed, for ``profile_effects`` to re-derive. Decisions are by ``(occurred_at,
event_id)``, so the result is the same whatever order or grouping the events arrived in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Text, delete, select, type_coerce, update

from edge_sync.protocol import ValidEvent

from ...store.bulk import insert_rows
from ...store.profile_tables import (
    consents,
    order_events,
    orders,
    profile_events,
    profiles,
    session_links,
)
from ...store.sql import chunks, lock_keys, pairs_in
from ...store.tables import events
from ..facts import Fact
from ..identity.identity import detach, live_profile
from .profile_cache import Delta
from .profile_facts import kiosk_fact

PICKUPS = ("pickup.confirmed", "pickup.refused")
SURVEY = "survey.answered"


def _order_of(ve: ValidEvent) -> str | None:
    """The order a pickup or a piece of pickup feedback belongs to."""
    if ve.event.type in PICKUPS or ve.event.type == SURVEY:
        return ve.data.get("order_id")
    return None


def _live_many(conn: Connection, ids: Iterable[str]) -> dict[str, str]:
    """``live_profile`` for many ids in one query (merge chains are followed one by one)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(profiles.c.id, profiles.c.status, profiles.c.merged_into).where(
            profiles.c.id.in_(ids)
        )
    ).all()
    out = {i: i for i in ids}
    for r in rows:
        if r.status == "merged" and r.merged_into is not None:
            out[r.id] = live_profile(conn, r.id)
    return out


def named_profiles(new_events: Iterable[ValidEvent]) -> dict[str, datetime]:
    """Profiles the events name (QR links, consents, feedback), each with its earliest
    time."""
    first_seen: dict[str, datetime] = {}
    for ve in new_events:
        pid = (
            ve.data.get("profile_id")
            if ve.event.type in ("visit.linked", "consent.recorded", SURVEY)
            else None
        )
        if pid:
            first_seen[pid] = min(first_seen.get(pid, ve.event.occurred_at), ve.event.occurred_at)
    return first_seen


def ensure_profiles(conn: Connection, first_seen: dict[str, datetime]) -> list[str]:
    """Insert the profiles not stored yet; returns those this call inserted."""
    if not first_seen:
        return []
    # Only the missing ones: on PostgreSQL an INSERT … ON CONFLICT on a row another
    # transaction is updating (a re-derivation in another worker) waits for that
    # transaction to end, which would serialise the workers.
    have = set(
        conn.execute(select(profiles.c.id).where(profiles.c.id.in_(sorted(first_seen)))).scalars()
    )
    created = insert_rows(
        conn,
        profiles,
        [{"id": p, "created_at": t, "updated_at": t, "status": "active", "attributes": {}}
         for p, t in sorted(first_seen.items()) if p not in have],
        ignore_conflicts=True,
        returning=("id",),
    )  # fmt: skip
    return [r[0] for r in created]


@dataclass
class _Links:
    """What ``_link_sessions`` decided: sessions now linked, and who lost one."""

    #: (device_id, session_id) → the link event's profile (before merges)
    linked: set[tuple[str, str]]
    #: sessions an earlier link took over → the profile that held them (before merges)
    previous: dict[tuple[str, str], str]
    #: visit.linked events outside a session: (profile_id, event_id)
    own: list[tuple[str, str]]


#: (device_id, session_id) → (linked_at, event_id, profile_id) of stored session links
SessionLinks = dict[tuple[str, str], tuple[datetime, str, str]]


def _read_links(conn: Connection, sessions: Iterable[tuple[str, str]]) -> SessionLinks:
    sl = session_links
    return {
        (r.device_id, r.session_id): (r.linked_at, r.event_id, r.profile_id)
        for r in conn.execute(
            select(sl).where(pairs_in(conn, sl.c.device_id, sl.c.session_id, sessions))
        )
    }


def _link_sessions(conn: Connection, links: list[ValidEvent], stored: SessionLinks) -> _Links:
    """Tie sessions to profiles for a group's visit.linked events, in a fixed number of
    statements. The earliest link by (occurred_at, event_id) wins, whatever the order.
    ``stored``: the links of (at least) these sessions as read under their locks;
    updated to what is stored now."""
    best: SessionLinks = {}
    own: list[tuple[str, str]] = []
    for ve in links:
        ev, pid = ve.event, ve.data["profile_id"]
        if ev.session_id is None:
            own.append((pid, ev.id))
            continue
        cand = (ev.occurred_at, ev.id, pid)
        key = (ev.device_id, ev.session_id)
        if key not in best or cand < best[key]:
            best[key] = cand
    sl = session_links
    new = {key: cand for key, cand in sorted(best.items()) if key not in stored}
    inserted = insert_rows(
        conn,
        sl,
        [{"device_id": d, "session_id": s, "profile_id": c[2], "event_id": c[1], "linked_at": c[0]}
         for (d, s), c in new.items()],
        ignore_conflicts=True,
        returning=("device_id", "session_id"),
    )  # fmt: skip
    stored.update((key, new[key]) for key in inserted)
    # Not inserted, yet not read before: someone without the session's lock linked it.
    raced = [key for key in new if key not in stored]
    if raced:
        stored.update(_read_links(conn, raced))
    previous: dict[tuple[str, str], str] = {}
    for key, cand in sorted(best.items()):
        cur = stored[key]
        if cand[:2] < cur[:2] and cand[2] != cur[2]:
            # An earlier link arrived late: it takes the session over.
            conn.execute(
                update(sl)
                .where(sl.c.device_id == key[0], sl.c.session_id == key[1])
                .values(profile_id=cand[2], event_id=cand[1], linked_at=cand[0])
            )
            previous[key] = cur[2]
            stored[key] = cand
    return _Links(set(best), previous, own)


def _session_events(
    conn: Connection, sessions: set[tuple[str, str]], known: Mapping[str, Any]
) -> list[Any]:
    """The stored events of these sessions: (id, device_id, session_id) for those in
    ``known``, whole rows (``data`` as stored: text on SQLite) for the others, which
    are read in a second query (most events of a session linked now are in the group)."""
    if not sessions:
        return []
    where = pairs_in(conn, events.c.device_id, events.c.session_id, sessions)
    ids = conn.execute(
        select(events.c.id, events.c.device_id, events.c.session_id).where(where)
    ).all()
    out: list[Any] = []
    others: list[str] = []
    for r in ids:
        if r.id in known:
            out.append(r)
        else:
            others.append(r.id)
    for chunk in chunks(others, 5000):
        out += conn.execute(
            select(
                events.c.id, events.c.type, events.c.v, events.c.occurred_at, events.c.store_id,
                events.c.device_id, events.c.session_id,
                type_coerce(events.c.data, Text).label("data"),
            ).where(events.c.id.in_(chunk))
        ).all()  # fmt: skip
    return out


def _fact_of(ve: ValidEvent) -> Fact:
    e = ve.event
    return kiosk_fact(
        e.id, e.type, e.v, e.occurred_at.astimezone(UTC), e.store_id, e.device_id, e.session_id,
        ve.data,
    )  # fmt: skip


def link_kiosk_events(
    conn: Connection, new_events: list[ValidEvent], delta: Delta | None = None
) -> set[str]:
    """Attach a group's new events (and, for newly linked sessions, the sessions' stored
    events) to profiles; returns the profiles whose facts changed, and records the
    changes in ``delta`` when one is given."""
    touched: set[str] = set()
    first_seen = named_profiles(new_events)
    created = ensure_profiles(conn, first_seen)
    if delta is not None:
        delta.created.update(created)
    # Whoever writes a session's link or its other events, or an order's pickups, then
    # looks for the other side: one transaction at a time per session and order.
    sessions = {
        (ve.event.device_id, ve.event.session_id) for ve in new_events if ve.event.session_id
    }
    lock_keys(
        conn,
        {"session": (f"{d}/{s}" for d, s in sessions),
         "order": (o for ve in new_events if (o := _order_of(ve)) is not None)},
    )  # fmt: skip
    links = [ve for ve in new_events if ve.event.type == "visit.linked"]
    stored = _read_links(conn, sessions) if sessions else {}
    # First, so the group's other events find the links.
    decided = _link_sessions(conn, links, stored) if links else _Links(set(), {}, [])
    live = _live_many(
        conn,
        [*(v[2] for v in stored.values()), *decided.previous.values(),
         *(p for p, _ in decided.own), *first_seen],
    )  # fmt: skip
    owners = {key: live[v[2]] for key, v in stored.items()}

    attach_rows: set[tuple[str, str]] = {(live[p], e) for p, e in decided.own}
    consent_rows: list[dict[str, Any]] = []
    detach_rows: list[tuple[str, str]] = []
    # Sessions linked by this group: their earlier events count for the owner now, and a
    # consent given in the session before the link reached central counts too.
    in_group = {ve.event.id: ve for ve in new_events}
    for r in _session_events(conn, decided.linked & owners.keys(), in_group):
        key = (r.device_id, r.session_id)
        owner = owners[key]
        attach_rows.add((owner, r.id))
        ve = in_group.get(r.id)
        if ve is None and (delta is not None or r.type == "consent.recorded"):
            data = json.loads(r.data) if isinstance(r.data, str) else r.data
            if delta is not None:
                delta.facts[r.id] = kiosk_fact(
                    r.id, r.type, r.v, r.occurred_at, r.store_id, r.device_id, r.session_id, data
                )
            if r.type == "consent.recorded" and not data.get("profile_id"):
                consent_rows.append(
                    {"profile_id": owner, "purpose": data["purpose"],
                     "granted": data["granted"], "at": r.occurred_at, "event_id": r.id}
                )  # fmt: skip
        # (the group's own consents are recorded with the group's events below)
        if key in decided.previous:
            detach_rows.append((live[decided.previous[key]], r.id))
    touched.update(p for p, _ in attach_rows)
    touched.update(live[p] for p in decided.previous.values())
    for pid, event_ids in _by_profile(detach_rows).items():
        detach(conn, pid, event_ids)
        conn.execute(
            delete(consents).where(consents.c.profile_id == pid, consents.c.event_id.in_(event_ids))
        )
        if delta is not None:
            for event_id in event_ids:
                delta.detach(pid, event_id)
            delta.remove_consents(pid, event_ids)

    pickups: dict[str, list[str]] = {}
    for ve in new_events:
        ev, data = ve.event, ve.data
        owner = owners.get((ev.device_id, ev.session_id)) if ev.session_id else None
        if owner is not None:
            attach_rows.add((owner, ev.id))
            touched.add(owner)
        if ev.type == "consent.recorded":
            target = live[data["profile_id"]] if data.get("profile_id") else owner
            if target is not None:
                consent_rows.append(
                    {"profile_id": target, "purpose": data["purpose"], "granted": data["granted"],
                     "at": ev.occurred_at, "event_id": ev.id}
                )  # fmt: skip
                attach_rows.add((target, ev.id))
                touched.add(target)
        elif ev.type == SURVEY and data.get("profile_id"):
            attach_rows.add((live[data["profile_id"]], ev.id))
            touched.add(live[data["profile_id"]])
        elif (order_id := _order_of(ve)) is not None:
            pickups.setdefault(order_id, []).append(ev.id)
    insert_rows(conn, consents, consent_rows, ignore_conflicts=True)
    for pid, event_id in _attach_pickups(conn, pickups):
        attach_rows.add((pid, event_id))
        touched.add(pid)
    insert_rows(
        conn,
        profile_events,
        [{"profile_id": p, "event_id": e} for p, e in sorted(attach_rows)],
        ignore_conflicts=True,
    )
    if delta is not None:
        for pid, event_id in attach_rows:
            delta.attach(pid, event_id)
            if event_id in in_group and event_id not in delta.facts:
                delta.facts[event_id] = _fact_of(in_group[event_id])
        for c in consent_rows:
            delta.add_consent(c["profile_id"], c["event_id"], c["purpose"], c["at"], c["granted"])
    return touched


def _by_profile(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pid, event_id in pairs:
        out.setdefault(pid, []).append(event_id)
    return out


def _attach_pickups(conn: Connection, pickups: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Pickup events (and feedback about a pickup) belong to whoever placed the order,
    whichever arrives first: record them by order, and return (profile, event) for the
    orders already known."""
    if not pickups:
        return []
    insert_rows(
        conn,
        order_events,
        [{"order_id": o, "event_id": e} for o in sorted(pickups) for e in sorted(set(pickups[o]))],
        ignore_conflicts=True,
    )
    placed = conn.execute(
        select(orders.c.order_id, orders.c.profile_id).where(orders.c.order_id.in_(sorted(pickups)))
    ).all()
    live = _live_many(conn, [r.profile_id for r in placed])
    return [(live[r.profile_id], e) for r in placed for e in pickups[r.order_id]]
