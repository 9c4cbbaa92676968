"""Kiosk feedback per store: every ``survey.answered`` counted, with a profile or without.

A profile's journey sees only the feedback attached to it (a linked visit, a known
order; see ``profiles.kiosk_links``), and only with its consent. A store's numbers must
not depend on that: a shopper who picks up an order placed by phone, or rates a visit
without scanning a code, still said how the store did. So these counts are read from
the stored events themselves, and ``anonymous`` says how many reached no profile.

"High" is what the journey rules count as advocacy and "low" what they report as
``low_rating`` friction, so a changed rule changes both places alike.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, exists, select

from central_api.domain.facts import Fact
from central_api.domain.journeys.journey_rules import (
    DEFAULT_JOURNEY_RULES,
    STAGE_INDEX,
    JourneyRules,
)
from central_api.store.profile_tables import profile_events
from central_api.store.tables import events

SURVEY = "survey.answered"
_ADVOCACY = STAGE_INDEX["advocacy"]


@dataclass(frozen=True, slots=True)
class StoreFeedback:
    store_id: str
    answers: int
    #: rating (1–5) → answers; every rating is present, zeros included
    by_rating: dict[int, int]
    mean_rating: float
    #: evidences the advocacy stage under the journey rules (default: rating ≥ 4)
    high: int
    #: at or below ``[journey.friction] low_rating_at_most`` (default: rating ≤ 2)
    low: int
    #: reason → answers (answers without a reason are not counted here)
    reasons: dict[str, int] = field(default_factory=dict)
    #: "pickup" / "visit" → answers
    by_context: dict[str, int] = field(default_factory=dict)
    #: answers attached to no profile (counted here only)
    anonymous: int = 0


def store_feedback(
    conn: Connection,
    *,
    store: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    rules: JourneyRules = DEFAULT_JOURNEY_RULES,
) -> list[StoreFeedback]:
    """Feedback per store (by ``store_id``), answered in ``[start, end)``; None = any."""
    attached = exists().where(profile_events.c.event_id == events.c.id)
    q = select(
        events.c.id, events.c.store_id, events.c.occurred_at, events.c.data,
        attached.label("attached"),
    ).where(events.c.type == SURVEY)  # fmt: skip
    if store is not None:
        q = q.where(events.c.store_id == store)
    if start is not None:
        q = q.where(events.c.occurred_at >= start)
    if end is not None:
        q = q.where(events.c.occurred_at < end)
    per_store: dict[str, list[tuple[dict, bool, bool]]] = {}
    evidence, low_at = rules.compiled.stages_evidenced, rules.friction.low_rating_at_most
    for r in conn.execute(q):
        data = json.loads(r.data) if isinstance(r.data, str) else dict(r.data)
        fact = Fact(r.id, SURVEY, 1, r.occurred_at.astimezone(UTC), "kiosk", r.store_id,
                    data=data)  # fmt: skip
        high = _ADVOCACY in evidence(fact)
        per_store.setdefault(r.store_id, []).append((data, high, bool(r.attached)))
    return [_summary(s, rows, low_at) for s, rows in sorted(per_store.items())]


def _summary(store_id: str, rows: list[tuple[dict, bool, bool]], low_at: int) -> StoreFeedback:
    ratings = Counter(d["rating"] for d, _, _ in rows)
    return StoreFeedback(
        store_id=store_id,
        answers=len(rows),
        by_rating={n: ratings.get(n, 0) for n in range(1, 6)},
        mean_rating=round(sum(n * c for n, c in ratings.items()) / len(rows), 2),
        high=sum(1 for _, high, _ in rows if high),
        low=sum(c for n, c in ratings.items() if n <= low_at),
        reasons=dict(sorted(Counter(d["reason"] for d, _, _ in rows if d.get("reason")).items())),
        by_context=dict(sorted(Counter(d["context"] for d, _, _ in rows).items())),
        anonymous=sum(1 for _, _, linked in rows if not linked),
    )
