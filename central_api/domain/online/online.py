"""Online touchpoints (email, web, shop) in: the same checks, dedup and effects as kiosk events.

Each event is validated on its own (envelope, then its type's schema); the valid ones
are inserted with ``ON CONFLICT DO NOTHING`` on their id in one transaction, and only
the rows actually inserted get effects — so a resent event is a harmless duplicate.
The customer is found by ``customer_id`` first, then ``email_sha256``; two profiles
that are both already identified are never merged here, the event goes to the one the
customer id names. ``qr.opened`` (recorded by central itself, ``from_central``) names no
customer: it belongs to its verified code's recipient, or to nobody.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, select

from edge_sync.protocol import MAX_EVENT_BYTES, DeadLetterReason, SchemaViolation, UnknownEventType
from edge_sync.protocol.online import CENTRAL_ONLY_TYPES, ONLINE_REGISTRY, OnlineEvent
from edge_sync.protocol.schemas import describe_validation_error

from ...store.db import write_transaction
from ...store.dead_letters import dead_letter_row, insert_dead_letters
from ...store.profile_tables import (
    online_events,
    order_events,
    orders,
    profile_aliases,
    profiles,
)
from ...store.sql import insert_for, insert_ignore, lock_keys
from ..fleet.counters import ONLINE_DEAD_LETTER_TOPIC, count_online_request
from ..identity.identity import attach, live_profile, resolve_alias
from ..profiles.profile_effects import recompute_all, record_consent
from ..scoring.active_rules import ActiveRules

SOURCE_TOPIC = ONLINE_DEAD_LETTER_TOPIC
MAX_EVENTS_PER_REQUEST = 1000


@dataclass
class OnlineResult:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    #: {"index", "id", "reason", "detail"}; each is also kept in the dead-letter table
    rejected: list[dict[str, Any]] = field(default_factory=list)


def check(
    doc: Any, *, from_central: bool = False
) -> tuple[OnlineEvent | None, dict[str, Any], DeadLetterReason | None, str]:
    """``from_central``: the event is one central made itself (``CENTRAL_ONLY_TYPES``
    are taken only then)."""
    try:
        size = len(json.dumps(doc, separators=(",", ":")))
    except (TypeError, ValueError):
        return None, {}, DeadLetterReason.SCHEMA_VIOLATION, "not JSON-serialisable"
    if size > MAX_EVENT_BYTES:
        return (
            None,
            {},
            DeadLetterReason.OVERSIZE,
            f"event is {size} bytes, limit {MAX_EVENT_BYTES}",
        )
    unstorable = _unstorable_text(doc)
    if unstorable:
        return None, {}, DeadLetterReason.SCHEMA_VIOLATION, unstorable
    kind = doc.get("type") if isinstance(doc, dict) else None
    if not from_central and isinstance(kind, str) and kind in CENTRAL_ONLY_TYPES:
        return (
            None,
            {},
            DeadLetterReason.UNEXPECTED,
            f"{kind} is recorded by central itself when a code is opened "
            "(GET /q/{token}); it is not accepted from integrations",
        )
    try:
        ev = OnlineEvent.model_validate(doc)
    except ValidationError as err:
        return None, {}, DeadLetterReason.SCHEMA_VIOLATION, describe_validation_error(err)
    try:
        data = ONLINE_REGISTRY.validate_data(ev.type, ev.v, ev.data)
    except UnknownEventType as err:
        return ev, {}, DeadLetterReason.UNKNOWN_TYPE, str(err)
    except SchemaViolation as err:
        return ev, {}, DeadLetterReason.SCHEMA_VIOLATION, err.detail
    return ev, data, None, ""


def _unstorable_text(doc: Any) -> str:
    """Text no store can hold, named by its path: a lone surrogate (``"\\ud800"`` is valid
    JSON but not Unicode) anywhere, or a NUL in an envelope field (PostgreSQL text cannot
    hold one; ``data`` is JSON, where it is escaped). Walked without recursion."""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{_shown(path) or '(event)'}: not valid Unicode (a lone surrogate)"
            if "\x00" in value and "." not in path and path != "data":
                return f"{_shown(path)}: must not contain a NUL character"
        elif isinstance(value, dict):
            for k, v in value.items():
                stack.append((f"{path}.{k}" if path else str(k), k))
                stack.append((f"{path}.{k}" if path else str(k), v))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", v) for i, v in enumerate(value))
    return ""


def _shown(text: str) -> str:
    """A client's field name as it can be stored and echoed (no lone surrogate, no NUL)."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")[:200]


def _event_id(doc: Any) -> str | None:
    """The id a rejected event is answered by, when it has one that can be echoed."""
    value = doc.get("id") if isinstance(doc, dict) else None
    if isinstance(value, str) and len(value) <= 64 and value == _shown(value):
        return value
    return None


def ingest_online(
    engine: Engine,
    docs: list[Any],
    received_at: datetime,
    active: ActiveRules,
    *,
    from_central: bool = False,
) -> OnlineResult:
    result = OnlineResult()
    valid, dead = _checked(docs, received_at, result, from_central)
    with write_transaction(engine) as conn:
        _store(conn, result, valid, dead, received_at, active)
    return result


def ingest_online_in(
    conn: Connection, docs: list[Any], received_at: datetime, active: ActiveRules
) -> OnlineResult:
    """``ingest_online`` in the caller's transaction, for a fact that must be stored
    together with something else (the ``order.placed`` of an order placed through the
    orders API)."""
    result = OnlineResult()
    valid, dead = _checked(docs, received_at, result, from_central=False)
    _store(conn, result, valid, dead, received_at, active)
    return result


def _store(
    conn: Connection,
    result: OnlineResult,
    valid: list[tuple[OnlineEvent, dict[str, Any]]],
    dead: list[dict[str, Any]],
    received_at: datetime,
    active: ActiveRules,
) -> None:
    if dead:
        insert_dead_letters(conn, dead)
    new_ids = _insert(conn, valid, received_at)
    touched: set[str] = set()
    for ev, data in valid:
        if ev.id not in new_ids:
            result.duplicates.append(ev.id)
            continue
        result.accepted.append(ev.id)
        touched |= _link(conn, ev, data)
    recompute_all(conn, touched, active, received_at)
    count_online_request(conn, len(result.accepted), len(result.duplicates))


def _checked(
    docs: list[Any], received_at: datetime, result: OnlineResult, from_central: bool
) -> tuple[list[tuple[OnlineEvent, dict[str, Any]]], list[dict[str, Any]]]:
    """The valid events (first copy of each id) and the dead-letter rows of the others."""
    valid: list[tuple[OnlineEvent, dict[str, Any]]] = []
    dead: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, doc in enumerate(docs):
        ev, data, reason, detail = check(doc, from_central=from_central)
        if reason is not None:
            event_id = _event_id(doc)
            result.rejected.append(
                {"index": i, "id": event_id, "reason": reason.value, "detail": detail}
            )
            dead.append(
                dead_letter_row(
                    received_at=received_at, topic=SOURCE_TOPIC, reason=reason, detail=detail,
                    payload=json.dumps(doc, default=str)[:65536], event_id=event_id,
                )
            )  # fmt: skip
            continue
        assert ev is not None
        if ev.id in seen:
            result.duplicates.append(ev.id)
            continue
        seen.add(ev.id)
        valid.append((ev, data))
    return valid, dead


def _insert(
    conn: Connection, valid: list[tuple[OnlineEvent, dict[str, Any]]], at: datetime
) -> set[str]:
    if not valid:
        return set()
    rows = [
        {"id": ev.id, "type": ev.type, "v": ev.v, "occurred_at": ev.occurred_at, "received_at": at,
         "channel": ev.channel, "source": ev.source, "customer_id": ev.customer_id,
         "email_sha256": ev.email_sha256, "session_id": ev.session_id, "data": data}
        for ev, data in valid
    ]  # fmt: skip
    stmt = (
        insert_for(conn, online_events)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(online_events.c.id)
    )
    return set(conn.execute(stmt).scalars())


def find_customer(
    conn: Connection, customer_id: str | None, email_sha256: str | None, at: datetime
) -> str:
    def owner(kind: str, value: str | None) -> str | None:
        if value is None:
            return None
        pid = conn.execute(
            select(profile_aliases.c.profile_id).where(
                profile_aliases.c.kind == kind, profile_aliases.c.value == value
            )
        ).scalar()
        return live_profile(conn, pid) if pid is not None else None

    by_customer, by_email = owner("customer_id", customer_id), owner("email_sha256", email_sha256)
    if by_customer is not None:
        pid = by_customer  # also when the email names another identified profile: no auto-merge
    elif by_email is not None:
        pid = by_email
    elif customer_id is not None:
        pid = resolve_alias(conn, "customer_id", customer_id, at)
    else:
        assert email_sha256 is not None
        pid = resolve_alias(conn, "email_sha256", email_sha256, at)
    for kind, value in (("customer_id", customer_id), ("email_sha256", email_sha256)):
        if value is not None:  # learn the other identifier, unless someone else has it
            conn.execute(
                insert_ignore(conn, profile_aliases).values(
                    kind=kind, value=value, profile_id=pid, created_at=at
                )
            )
    return pid


def _recipient(conn: Connection, recipient_id: str | None) -> str | None:
    """The profile now holding a code's recipient (merges followed), if it exists."""
    if recipient_id is None:
        return None
    pid = live_profile(conn, recipient_id)
    row = conn.execute(select(profiles.c.status).where(profiles.c.id == pid)).first()
    return pid if row is not None and row.status == "active" else None


def _link(conn: Connection, ev: OnlineEvent, data: dict[str, Any]) -> set[str]:
    if ev.type == "qr.opened":
        # the person is the verified code's recipient; a generic code's open is anonymous
        recipient = _recipient(conn, data.get("recipient_id"))
        if recipient is None:
            return set()
        attach(conn, recipient, [ev.id])
        return {recipient}
    pid = find_customer(conn, ev.customer_id, ev.email_sha256, ev.occurred_at)
    attach(conn, pid, [ev.id])
    if ev.type == "consent.recorded":
        record_consent(conn, pid, data["purpose"], data["granted"], ev.occurred_at, ev.id)
    elif ev.type == "order.placed":
        lock_keys(conn, {"order": [data["order_id"]]})  # against a pickup being recorded now
        conn.execute(
            insert_ignore(conn, orders).values(
                order_id=data["order_id"], profile_id=pid, event_id=ev.id, placed_at=ev.occurred_at,
                pickup_store_id=data.get("pickup_store_id"),
            )
        )  # fmt: skip
        owner = live_profile(
            conn,
            conn.execute(
                select(orders.c.profile_id).where(orders.c.order_id == data["order_id"])
            ).scalar_one(),
        )
        # Pickups confirmed at a kiosk before this order reached central belong here too.
        pickups = conn.execute(
            select(order_events.c.event_id).where(order_events.c.order_id == data["order_id"])
        ).scalars()
        attach(conn, owner, pickups)
        return {pid, owner}
    return {pid}
