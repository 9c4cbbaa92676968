"""A profile's facts, read from the database: its kiosk events and online events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ...store.profile_tables import consents, online_events, profile_events
from ...store.tables import events
from ..facts import Fact, ordered


def _campaign(data: Mapping[str, Any]) -> str | None:
    value = data.get("campaign_id")
    return value if isinstance(value, str) else None


def load_facts(conn: Connection, profile_id: str) -> list[Fact]:
    """Every event attached to the profile, deduplicated and in derivation order."""
    kiosk = conn.execute(
        select(
            events.c.id, events.c.type, events.c.v, events.c.occurred_at, events.c.store_id,
            events.c.device_id, events.c.session_id, events.c.data,
        )
        .join(profile_events, profile_events.c.event_id == events.c.id)
        .where(profile_events.c.profile_id == profile_id)
    ).all()  # fmt: skip
    online = conn.execute(
        select(
            online_events.c.id, online_events.c.type, online_events.c.v,
            online_events.c.occurred_at, online_events.c.channel, online_events.c.session_id,
            online_events.c.data,
        )
        .join(profile_events, profile_events.c.event_id == online_events.c.id)
        .where(profile_events.c.profile_id == profile_id)
    ).all()  # fmt: skip
    facts = [
        Fact(r.id, r.type, r.v, r.occurred_at, "kiosk", r.store_id, r.device_id, r.session_id,
             _campaign(r.data), r.data)
        for r in kiosk
    ] + [
        Fact(r.id, r.type, r.v, r.occurred_at, r.channel, None, None, r.session_id,
             _campaign(r.data), r.data)
        for r in online
    ]  # fmt: skip
    return ordered(facts)


def consent_state(conn: Connection, profile_id: str) -> dict[str, bool]:
    """The latest decision per purpose, by (at, event_id): the same in any arrival order."""
    latest: dict[str, tuple[Any, str, bool]] = {}
    for r in conn.execute(select(consents).where(consents.c.profile_id == profile_id)):
        key = (r.at, r.event_id, r.granted)
        if r.purpose not in latest or key[:2] > latest[r.purpose][:2]:
            latest[r.purpose] = key
    return {purpose: v[2] for purpose, v in latest.items()}


def load_facts_many(conn: Connection, profile_ids: list[str]) -> dict[str, list[Fact]]:
    """``load_facts`` for several profiles in two queries."""
    out: dict[str, list[Fact]] = {p: [] for p in profile_ids}
    if not profile_ids:
        return out
    kiosk = conn.execute(
        select(
            profile_events.c.profile_id, events.c.id, events.c.type, events.c.v,
            events.c.occurred_at, events.c.store_id, events.c.device_id, events.c.session_id,
            events.c.data,
        )
        .join(profile_events, profile_events.c.event_id == events.c.id)
        .where(profile_events.c.profile_id.in_(profile_ids))
    )  # fmt: skip
    for r in kiosk.all():
        out[r.profile_id].append(
            Fact(r.id, r.type, r.v, r.occurred_at, "kiosk", r.store_id, r.device_id, r.session_id,
                 _campaign(r.data), r.data)
        )  # fmt: skip
    online = conn.execute(
        select(
            profile_events.c.profile_id, online_events.c.id, online_events.c.type,
            online_events.c.v, online_events.c.occurred_at, online_events.c.channel,
            online_events.c.session_id, online_events.c.data,
        )
        .join(profile_events, profile_events.c.event_id == online_events.c.id)
        .where(profile_events.c.profile_id.in_(profile_ids))
    )  # fmt: skip
    for r in online.all():
        out[r.profile_id].append(
            Fact(r.id, r.type, r.v, r.occurred_at, r.channel, None, None, r.session_id,
                 _campaign(r.data), r.data)
        )  # fmt: skip
    return {p: ordered(f) for p, f in out.items()}


def consent_state_many(conn: Connection, profile_ids: list[str]) -> dict[str, dict[str, bool]]:
    return {p: latest_consents(rows) for p, rows in consent_rows_many(conn, profile_ids).items()}


def consent_rows_many(
    conn: Connection, profile_ids: list[str]
) -> dict[str, dict[tuple[str, str], tuple[datetime, bool]]]:
    """Each profile's consent rows: ``(event_id, purpose) → (at, granted)``."""
    out: dict[str, dict[tuple[str, str], tuple[datetime, bool]]] = {p: {} for p in profile_ids}
    if profile_ids:
        for r in conn.execute(select(consents).where(consents.c.profile_id.in_(profile_ids))).all():
            out[r.profile_id][(r.event_id, r.purpose)] = (r.at, r.granted)
    return out


def latest_consents(rows: Mapping[tuple[str, str], tuple[datetime, bool]]) -> dict[str, bool]:
    """The latest decision per purpose, by (at, event_id): the same in any arrival order."""
    latest: dict[str, tuple[datetime, str, bool]] = {}
    for (event_id, purpose), (at, granted) in rows.items():
        cur = latest.get(purpose)
        if cur is None or (at, event_id) > cur[:2]:
            latest[purpose] = (at, event_id, granted)
    return {purpose: v[2] for purpose, v in latest.items()}


def kiosk_fact(
    event_id: str, type_: str, v: int, occurred_at: datetime, store_id: str, device_id: str,
    session_id: str | None, data: Mapping[str, Any],
) -> Fact:  # fmt: skip
    """The fact of a kiosk event (as ``load_facts`` reads it back)."""
    return Fact(event_id, type_, v, occurred_at, "kiosk", store_id, device_id, session_id,
                _campaign(data), data)  # fmt: skip
