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

from sqlalchemy import Connection, select, tuple_

from edge_sync.protocol import ValidEvent

from ..store.profile_tables import (
    campaign_counts,
    consents,
    order_events,
    orders,
    profile_events,
    session_links,
)
from ..store.sql import add_counts, insert_ignore
from ..store.tables import events
from .derive_many import recompute_many
from .identity import attach, detach, ensure_profile, link_session, live_profile
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


def _session_events(conn: Connection, device_id: str, session_id: str) -> list[str]:
    return list(
        conn.execute(
            select(events.c.id).where(
                events.c.device_id == device_id, events.c.session_id == session_id
            )
        ).scalars()
    )


def link_kiosk_events(conn: Connection, new_events: list[ValidEvent]) -> set[str]:
    touched: set[str] = set()
    for ve in new_events:  # links first, so the group's other events find them
        ev, data = ve.event, ve.data
        if ev.type != "visit.linked":
            continue
        if ev.session_id is None:
            ensure_profile(conn, data["profile_id"], ev.occurred_at)
            owner = live_profile(conn, data["profile_id"])
            attach(conn, owner, [ev.id])
            touched.add(owner)
            continue
        owner, previous = link_session(
            conn, ev.device_id, ev.session_id, data["profile_id"], ev.id, ev.occurred_at
        )
        ids = _session_events(conn, ev.device_id, ev.session_id)
        attach(conn, owner, ids)
        touched.add(owner)
        if previous is not None:
            detach(conn, previous, ids)
            touched.add(previous)
    pairs = {(ve.event.device_id, ve.event.session_id) for ve in new_events if ve.event.session_id}
    owners: dict[tuple[str, str], str] = {}
    if pairs:
        rows = conn.execute(
            select(
                session_links.c.device_id, session_links.c.session_id, session_links.c.profile_id
            ).where(
                tuple_(session_links.c.device_id, session_links.c.session_id).in_(sorted(pairs))
            )
        )
        owners = {(r.device_id, r.session_id): live_profile(conn, r.profile_id) for r in rows}
    scans: dict[tuple[str, str, str], int] = {}
    linked: list[dict[str, str]] = []  # attached in one statement below
    pickups: dict[str, list[str]] = {}
    for ve in new_events:
        ev, data = ve.event, ve.data
        owner = owners.get((ev.device_id, ev.session_id)) if ev.session_id else None
        if owner is not None:
            linked.append({"profile_id": owner, "event_id": ev.id})
            touched.add(owner)
        if ev.type == "consent.recorded":
            target = data.get("profile_id") or owner
            if target is not None:
                ensure_profile(conn, target, ev.occurred_at)
                target = live_profile(conn, target)
                record_consent(
                    conn, target, data["purpose"], data["granted"], ev.occurred_at, ev.id
                )
                attach(conn, target, [ev.id])
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
