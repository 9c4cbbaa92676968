"""Step 2's effects inside the ingest transaction: identity, then re-derivation.

1. Identity: a ``visit.linked`` ties its kiosk session to a profile and attaches the
   session's events; events of linked sessions, consents naming a profile and pickups
   of a known order are attached too; campaign scans are counted anonymously.
2. Every profile touched is re-derived from its whole set of facts (scores, grade,
   thresholds, touchpoints, funnel stages) and only the differences are written. A
   profile without a ``profiling`` consent gets no ledger and no journey.

Because step 2 reads the stored facts rather than the new events, the result is the
same whatever order or grouping the events arrived in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, tuple_, update

from edge_sync.protocol import ValidEvent

from ..store.profile_tables import (
    campaign_counts,
    consents,
    order_events,
    orders,
    profile_events,
    profiles,
    session_links,
)
from ..store.sql import add_counts, insert_ignore
from ..store.tables import events
from .derive_many import recompute_many
from .identity import attach, detach, live_profile
from .journey_rules import DEFAULT_JOURNEY_RULES, JourneyRules
from .rules import RuleSet, default_rules
from .webhooks import enqueue_new_crossings

#: the consent purpose scoring and journeys need
PROFILING = "profiling"


@dataclass(frozen=True)
class ActiveRules:
    scoring: RuleSet
    journey: JourneyRules

    @classmethod
    def of(cls, rules: RuleSet) -> ActiveRules:
        journey = (
            JourneyRules.model_validate(rules.journey) if rules.journey else DEFAULT_JOURNEY_RULES
        )
        return cls(rules, journey)


_DEFAULT: ActiveRules | None = None


def default_active_rules() -> ActiveRules:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ActiveRules.of(default_rules())
    return _DEFAULT


def stored_active_rules(conn: Connection) -> ActiveRules:
    """The active stored rule set (or the built-in default), as of this transaction."""
    from .rules_store import active_rules  # (rules_store imports this module)

    return active_rules(conn)


class ProfileEffects:
    def __init__(self, rules: Callable[[Connection], ActiveRules] = stored_active_rules) -> None:
        self._rules = rules

    def apply(self, conn: Connection, new_events: list[ValidEvent], received_at: datetime) -> None:
        touched = link_kiosk_events(conn, new_events)
        if touched:
            recompute_all(conn, touched, self._rules(conn), received_at)


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


def _ensure_profiles(conn: Connection, first_seen: dict[str, datetime]) -> None:
    if first_seen:
        conn.execute(
            insert_ignore(conn, profiles),
            [{"id": p, "created_at": t, "updated_at": t, "status": "active", "attributes": {}}
             for p, t in sorted(first_seen.items())],
        )  # fmt: skip


def _link_sessions(conn: Connection, links: list[ValidEvent], touched: set[str]) -> None:
    """Tie sessions to profiles for a group's visit.linked events, in a fixed number of
    statements. The earliest link by (occurred_at, event_id) wins, whatever the order."""
    best: dict[tuple[str, str], tuple[datetime, str, str]] = {}
    own: list[dict[str, str]] = []
    for ve in links:
        ev, pid = ve.event, ve.data["profile_id"]
        if ev.session_id is None:
            own.append({"profile_id": pid, "event_id": ev.id})
            continue
        cand = (ev.occurred_at, ev.id, pid)
        key = (ev.device_id, ev.session_id)
        if key not in best or cand < best[key]:
            best[key] = cand
    sl = session_links
    pair = tuple_(sl.c.device_id, sl.c.session_id)
    existing = {
        (r.device_id, r.session_id): (r.linked_at, r.event_id, r.profile_id)
        for r in conn.execute(select(sl).where(pair.in_(sorted(best)))) if best
    }  # fmt: skip
    new = [
        {"device_id": d, "session_id": s, "profile_id": c[2], "event_id": c[1], "linked_at": c[0]}
        for (d, s), c in sorted(best.items()) if (d, s) not in existing
    ]  # fmt: skip
    if new:
        conn.execute(insert_ignore(conn, sl), new)
    previous: dict[tuple[str, str], str] = {}
    for key, cand in sorted(best.items()):
        cur = existing.get(key)
        if cur is not None and cand[:2] < cur[:2] and cand[2] != cur[2]:
            # An earlier link arrived late: it takes the session over.
            conn.execute(
                update(sl)
                .where(sl.c.device_id == key[0], sl.c.session_id == key[1])
                .values(profile_id=cand[2], event_id=cand[1], linked_at=cand[0])
            )
            previous[key] = cur[2]
    owners = {
        (r.device_id, r.session_id): r.profile_id
        for r in conn.execute(select(sl.c.device_id, sl.c.session_id, sl.c.profile_id).where(pair.in_(sorted(best))))
    } if best else {}  # fmt: skip
    live = _live_many(conn, [*owners.values(), *previous.values(), *(o["profile_id"] for o in own)])
    attach_rows = [{"profile_id": live[o["profile_id"]], "event_id": o["event_id"]} for o in own]
    touched.update(row["profile_id"] for row in attach_rows)
    consent_rows: list[dict[str, Any]] = []
    if owners:
        ev_pair = tuple_(events.c.device_id, events.c.session_id)
        for r in conn.execute(
            select(
                events.c.id, events.c.device_id, events.c.session_id, events.c.type,
                events.c.occurred_at, events.c.data,
            ).where(ev_pair.in_(sorted(owners)))
        ):  # fmt: skip
            key = (r.device_id, r.session_id)
            owner = live[owners[key]]
            attach_rows.append({"profile_id": owner, "event_id": r.id})
            # A consent given in the session before the link reached central counts now.
            if r.type == "consent.recorded" and not r.data.get("profile_id"):
                consent_rows.append(
                    {"profile_id": owner, "purpose": r.data["purpose"], "granted": r.data["granted"],
                     "at": r.occurred_at, "event_id": r.id}
                )  # fmt: skip
            if key in previous:
                detach(conn, live[previous[key]], [r.id])
                conn.execute(
                    delete(consents).where(
                        consents.c.profile_id == live[previous[key]], consents.c.event_id == r.id
                    )
                )
    if consent_rows:
        conn.execute(insert_ignore(conn, consents), consent_rows)
        touched.update(live[o] for o in owners.values())
        touched.update(live[p] for p in previous.values())
    if attach_rows:
        conn.execute(insert_ignore(conn, profile_events), attach_rows)


def link_kiosk_events(conn: Connection, new_events: list[ValidEvent]) -> set[str]:
    touched: set[str] = set()
    first_seen: dict[str, datetime] = {}
    for ve in new_events:
        pid = (
            ve.data.get("profile_id")
            if ve.event.type in ("visit.linked", "consent.recorded")
            else None
        )
        if pid:
            first_seen[pid] = min(first_seen.get(pid, ve.event.occurred_at), ve.event.occurred_at)
    _ensure_profiles(conn, first_seen)
    links = [ve for ve in new_events if ve.event.type == "visit.linked"]
    if links:  # first, so the group's other events find them
        _link_sessions(conn, links, touched)
    pairs = {(ve.event.device_id, ve.event.session_id) for ve in new_events if ve.event.session_id}
    owners: dict[tuple[str, str], str] = {}
    if pairs:
        rows = conn.execute(
            select(
                session_links.c.device_id, session_links.c.session_id, session_links.c.profile_id
            ).where(
                tuple_(session_links.c.device_id, session_links.c.session_id).in_(sorted(pairs))
            )
        ).all()
        live = _live_many(conn, [r.profile_id for r in rows])
        owners = {(r.device_id, r.session_id): live[r.profile_id] for r in rows}
    scans: dict[tuple[str, str, str], int] = {}
    linked: list[dict[str, str]] = []  # attached in one statement below
    consent_rows: list[dict[str, Any]] = []
    pickups: dict[str, list[str]] = {}
    named = _live_many(conn, first_seen)
    for ve in new_events:
        ev, data = ve.event, ve.data
        owner = owners.get((ev.device_id, ev.session_id)) if ev.session_id else None
        if owner is not None:
            linked.append({"profile_id": owner, "event_id": ev.id})
            touched.add(owner)
        if ev.type == "consent.recorded":
            target = named[data["profile_id"]] if data.get("profile_id") else owner
            if target is not None:
                consent_rows.append(
                    {"profile_id": target, "purpose": data["purpose"], "granted": data["granted"],
                     "at": ev.occurred_at, "event_id": ev.id}
                )  # fmt: skip
                linked.append({"profile_id": target, "event_id": ev.id})
                touched.add(target)
        elif ev.type in ("pickup.confirmed", "pickup.refused"):
            pickups.setdefault(data["order_id"], []).append(ev.id)
        elif ev.type == "campaign.scanned":
            key = (data["campaign_id"], ev.store_id, ev.occurred_at.date().isoformat())
            scans[key] = scans.get(key, 0) + 1
    if scans:
        add_counts(
            conn,
            campaign_counts,
            ("campaign_id", "store_id", "day"),
            "scans",
            [
                {"campaign_id": c, "store_id": s, "day": d, "scans": n}
                for (c, s, d), n in scans.items()
            ],
        )
    if consent_rows:
        conn.execute(insert_ignore(conn, consents), consent_rows)
    if linked:
        conn.execute(insert_ignore(conn, profile_events), linked)
    for order_id in sorted(pickups):
        touched |= attach_to_order(conn, order_id, pickups[order_id])
    return touched


def record_consent(
    conn: Connection, profile_id: str, purpose: str, granted: bool, at: datetime, event_id: str
) -> None:
    conn.execute(
        insert_ignore(conn, consents).values(
            profile_id=profile_id, purpose=purpose, granted=granted, at=at, event_id=event_id
        )
    )


def attach_to_order(conn: Connection, order_id: str, event_ids: Iterable[str]) -> set[str]:
    """Pickup events belong to whoever placed the order, whichever arrives first."""
    ids = list(event_ids)
    conn.execute(
        insert_ignore(conn, order_events), [{"order_id": order_id, "event_id": e} for e in ids]
    )
    owner = conn.execute(select(orders.c.profile_id).where(orders.c.order_id == order_id)).scalar()
    if owner is None:
        return set()
    owner = live_profile(conn, owner)
    attach(conn, owner, ids)
    return {owner}


def recompute(conn: Connection, profile_id: str, active: ActiveRules, now: datetime) -> None:
    """Re-derive one profile from its facts and write what changed."""
    recompute_all(conn, [profile_id], active, now)


def recompute_all(
    conn: Connection, profile_ids: Iterable[str], active: ActiveRules, now: datetime
) -> None:
    """Re-derive several profiles in a fixed number of statements; new threshold crossings
    queue their webhooks before the stored crossings are rewritten."""
    recompute_many(
        conn, profile_ids, active, now, purpose=PROFILING, before_crossings=enqueue_new_crossings
    )
