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
    profiles,
    score_ledger,
    session_links,
    stages_reached,
    threshold_crossings,
    touchpoints,
)
from ..store.sql import add_counts, insert_ignore
from ..store.tables import events
from .identity import attach, detach, ensure_profile, link_session, live_profile
from .journey_rules import DEFAULT_JOURNEY_RULES, JourneyRules
from .journeys import stage_history
from .journeys import touchpoints as journey_touchpoints
from .profile_facts import consent_state, load_facts
from .rules import RuleSet, default_rules
from .scoring import decay_anchor
from .thresholds import derive_profile
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
        active = self._rules(conn)
        for pid in sorted(touched):
            recompute(conn, pid, active, received_at)


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
    for ve in new_events:
        ev, data = ve.event, ve.data
        owner = owners.get((ev.device_id, ev.session_id)) if ev.session_id else None
        if owner is not None:
            attach(conn, owner, [ev.id])
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
            touched |= attach_to_order(conn, data["order_id"], [ev.id])
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
    prof = conn.execute(select(profiles).where(profiles.c.id == profile_id)).first()
    if prof is None:
        return
    if prof.status != "active":
        # Merged away: its history now counts for the survivor, never twice.
        for table in (score_ledger, touchpoints, stages_reached, threshold_crossings):
            conn.execute(delete(table).where(table.c.profile_id == profile_id))
        return
    facts = load_facts(conn, profile_id)
    allowed = consent_state(conn, profile_id).get(PROFILING, False)
    rules = active.scoring
    if allowed:
        d = derive_profile(facts, prof.attributes, rules, now)
        ledger, found, stage, grade = d.ledger, d.crossings, d.stage, d.grade.letter
        tps = journey_touchpoints(facts, active.journey)
        stages = stage_history(facts, active.journey)
    else:
        ledger, found, stage, grade, tps, stages = [], [], None, None, [], []
    _write_ledger(conn, profile_id, ledger)
    _replace(
        conn, touchpoints, profile_id,
        [{"profile_id": profile_id, "event_id": t.event_id, "occurred_at": t.occurred_at,
          "channel": t.channel, "task": t.task, "device_id": t.device_id, "store_id": t.store_id,
          "campaign_id": t.campaign_id} for t in tps],
    )  # fmt: skip
    _replace(
        conn, stages_reached, profile_id,
        [{"profile_id": profile_id, "stage": s.stage, "first_reached_at": s.first_reached_at,
          "event_id": s.event_id, "campaign_id": s.campaign_id, "store_id": s.store_id}
         for s in stages],
    )  # fmt: skip
    enqueue_new_crossings(conn, profile_id, found, rules, now)  # before the old rows go
    _replace(
        conn, threshold_crossings, profile_id,
        [{"profile_id": profile_id, "threshold_id": c.threshold_id, "event_id": c.event_id,
          "at": c.at, "score": c.score, "stage": c.stage} for c in found],
    )  # fmt: skip
    ref_at, ref_sum = decay_anchor(ledger, rules)
    conn.execute(
        update(profiles)
        .where(profiles.c.id == profile_id)
        .values(
            grade=grade,
            lifecycle_stage=stage,
            funnel_stage=stages[-1].stage if stages else None,
            score_raw=float(sum(line.points for line in ledger)),
            score_ref_sum=ref_sum,
            score_ref_at=ref_at,
            rules_version=rules.version,
            updated_at=now,
        )
    )


def _write_ledger(conn: Connection, profile_id: str, ledger: list) -> None:
    """Keep ledger rows stable: delete what no longer holds, insert what is new."""
    want = {(ln.event_id, ln.rule_id, ln.rules_version): ln for ln in ledger}
    have = {
        (r.event_id, r.rule_id, r.rules_version): (r.id, r.points)
        for r in conn.execute(select(score_ledger).where(score_ledger.c.profile_id == profile_id))
    }
    stale = [rid for key, (rid, pts) in have.items() if key not in want or want[key].points != pts]
    if stale:
        conn.execute(delete(score_ledger).where(score_ledger.c.id.in_(stale)))
    kept = {key for key, (_rid, pts) in have.items() if key in want and want[key].points == pts}
    rows = [
        {"profile_id": profile_id, "event_id": ln.event_id, "rule_id": ln.rule_id,
         "rules_version": ln.rules_version, "score_group": ln.group, "points": ln.points,
         "occurred_at": ln.occurred_at}
        for key, ln in want.items() if key not in kept
    ]  # fmt: skip
    if rows:
        conn.execute(score_ledger.insert(), rows)


def _replace(conn: Connection, table: Any, profile_id: str, rows: list[dict[str, Any]]) -> None:
    conn.execute(delete(table).where(table.c.profile_id == profile_id))
    if rows:
        conn.execute(table.insert(), rows)
