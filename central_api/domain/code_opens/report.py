"""How often a campaign's codes were opened on phones, from the stored ``qr.opened``
events: per UTC day and code kind. Anonymous (no consent needed, no profile named):
generic ``c`` codes have no person, and ``r`` opens are counted without who.

Each event is one code opened on one day (``opening.event_id``), so ``opens`` counts
code-days: a flyer opened five times on Monday and once on Tuesday is 2.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, select

from ...store.profile_tables import online_events


def campaign_opens(conn: Connection, campaign_id: str) -> dict[str, Any]:
    t = online_events.c
    rows = conn.execute(
        select(t.occurred_at, t.data).where(
            t.type == "qr.opened", t.data["campaign_id"].as_string() == campaign_id
        )
    ).all()
    by_day: Counter[tuple[str, str]] = Counter()
    codes: set[str] = set()
    recipients: set[str] = set()
    for r in rows:
        kind = str(r.data.get("token_kind"))
        by_day[(r.occurred_at.date().isoformat(), kind)] += 1
        codes.add(str(r.data.get("token_hash")))
        if r.data.get("recipient_id") is not None:
            recipients.add(str(r.data["recipient_id"]))
    return {
        "campaign_id": campaign_id,
        "days": [
            {"day": day, "token_kind": kind, "opens": n}
            for (day, kind), n in sorted(by_day.items())
        ],
        "totals": {"opens": len(rows), "codes": len(codes), "recipients": len(recipients)},
    }
