"""What the campaign reports and the campaign funnel read: stored events, as they are.

Profile-level numbers (unique profiles, conversions, a campaign's funnel) count active
profiles whose latest ``profiling`` consent is granted, the same profiles that have a
journey; merged-away profiles are left out (their events count for the survivor). The
anonymous scan counters need no consent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, select

from central_api.domain.journeys.funnel import StageRow, rows_for
from central_api.domain.journeys.journey_rules import KNOWN_TYPES, JourneyRules
from central_api.domain.journeys.journeys import campaign_stage_history
from central_api.domain.profiles.profile_facts import (
    consent_rows_many,
    latest_consents,
    load_facts_many,
)
from central_api.store.profile_tables import online_events, profile_events, profiles
from central_api.store.sql import chunks
from central_api.store.tables import events
from edge_sync.protocol.schemas import REGISTRY

from .attribution import OrderEvent, Scan

#: the consent purpose journeys need (``profile_effects.PROFILING``)
PROFILING = "profiling"
#: profile ids per IN (...) list
CHUNK = 2000

_KIOSK = {t.name for t in REGISTRY}
#: event types whose data may name a campaign, by table
KIOSK_CAMPAIGN_TYPES = sorted(t for t in _KIOSK if "campaign_id" in KNOWN_TYPES[t])
ONLINE_CAMPAIGN_TYPES = sorted(
    t for t, fields in KNOWN_TYPES.items() if t not in _KIOSK and "campaign_id" in fields
)


def _id_chunks(ids: Iterable[str]) -> Iterator[Sequence[str]]:
    return chunks(sorted(set(ids)), CHUNK)


def consenting(conn: Connection, profile_ids: Iterable[str]) -> set[str]:
    """The active ones among ``profile_ids`` whose latest profiling consent is granted."""
    out: set[str] = set()
    for part in _id_chunks(profile_ids):
        active = list(
            conn.execute(
                select(profiles.c.id).where(profiles.c.id.in_(part), profiles.c.status == "active")
            ).scalars()
        )
        for pid, rows in consent_rows_many(conn, active).items():
            if latest_consents(rows).get(PROFILING, False):
                out.add(pid)
    return out


def _campaign(data: Any) -> str | None:
    value = data.get("campaign_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def profile_scans(conn: Connection) -> list[Scan]:
    """Every ``campaign.scanned`` held by a consenting active profile."""
    q = (
        select(profile_events.c.profile_id, events.c.id, events.c.occurred_at,
               events.c.store_id, events.c.data)
        .join(profile_events, profile_events.c.event_id == events.c.id)
        .where(events.c.type == "campaign.scanned")
    )  # fmt: skip
    rows = conn.execute(q).all()
    keep = consenting(conn, (r.profile_id for r in rows))
    out = []
    for r in rows:
        campaign = _campaign(r.data)
        if r.profile_id in keep and campaign is not None:
            out.append(Scan(r.profile_id, r.occurred_at, r.id, campaign, r.store_id))
    return out


def order_events(conn: Connection, profile_ids: Iterable[str]) -> list[OrderEvent]:
    """The profiles' online ``order.placed`` and kiosk ``pickup.confirmed`` events."""
    out: list[OrderEvent] = []
    for part in _id_chunks(profile_ids):
        placed = conn.execute(
            select(profile_events.c.profile_id, online_events.c.id, online_events.c.occurred_at,
                   online_events.c.data)
            .join(profile_events, profile_events.c.event_id == online_events.c.id)
            .where(online_events.c.type == "order.placed", profile_events.c.profile_id.in_(part))
        ).all()  # fmt: skip
        picked = conn.execute(
            select(profile_events.c.profile_id, events.c.id, events.c.occurred_at, events.c.data)
            .join(profile_events, profile_events.c.event_id == events.c.id)
            .where(events.c.type == "pickup.confirmed", profile_events.c.profile_id.in_(part))
        ).all()  # fmt: skip
        for kind, rows in (("order", placed), ("pickup", picked)):
            for r in rows:
                out.append(OrderEvent(r.profile_id, r.data["order_id"], r.occurred_at, r.id, kind))
    return out


def touching_profiles(conn: Connection, campaign_id: str) -> set[str]:
    """Profiles with an event whose data names the campaign (scans, recipient check-ins,
    the campaign's emails and visits)."""
    found: set[str] = set()
    for table, types in ((events, KIOSK_CAMPAIGN_TYPES), (online_events, ONLINE_CAMPAIGN_TYPES)):
        q = (
            select(profile_events.c.profile_id)
            .join(table, profile_events.c.event_id == table.c.id)
            .where(table.c.type.in_(types), table.c.data["campaign_id"].as_string() == campaign_id)
            .distinct()
        )
        found.update(conn.execute(q).scalars())
    return found


def campaign_stage_rows(
    conn: Connection, campaign_id: str, rules: JourneyRules, window_days: float
) -> list[StageRow]:
    """Funnel rows of every consenting profile the campaign touched, credited by
    ``journeys.campaign_stage_history``."""
    rows: list[StageRow] = []
    for part in _id_chunks(consenting(conn, touching_profiles(conn, campaign_id))):
        for pid, facts in load_facts_many(conn, list(part)).items():
            rows += rows_for(pid, campaign_stage_history(facts, campaign_id, rules, window_days))
    return rows
