"""Profile effects inside the ingest transaction: identity, then re-derivation.

First identity (``kiosk_links``): kiosk events are attached to profiles; campaign
scans are counted anonymously. Then every profile touched is re-derived from its whole
set of facts (scores, derived attributes, grade, thresholds, touchpoints, funnel
stages) and only the differences are written. A profile without a ``profiling``
consent gets no ledger and no journey.

Because the re-derivation reads the stored facts rather than the new events, the
result is the same whatever order or grouping the events arrived in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from edge_sync.protocol import ValidEvent

from ...store.db import write_transaction
from ...store.profile_tables import campaign_counts, consents
from ...store.sql import add_counts, insert_ignore
from ..scoring.active_rules import ActiveRules, active_rules
from ..webhooks.webhooks import enqueue_new_crossings
from .derive_many import recompute_many
from .kiosk_links import ensure_profiles, link_kiosk_events, named_profiles
from .profile_cache import Delta, ProfileCache

#: the consent purpose scoring and journeys need
PROFILING = "profiling"


class ProfileEffects:
    """Identity and re-derivation for one ingest worker. With a ``cache`` (the default)
    it remembers the profiles it re-derived (see ``profile_cache``); one instance per
    database, since what it remembers is that database's."""

    def __init__(
        self,
        rules: Callable[[Connection], ActiveRules] = active_rules,
        cache: ProfileCache | None = None,
    ) -> None:
        self._rules = rules
        self.cache = cache
        #: per thread: the profiles its last ``before`` created
        self._created = threading.local()

    def apply(self, conn: Connection, new_events: list[ValidEvent], received_at: datetime) -> None:
        delta = None
        if self.cache is not None:
            delta = Delta(created=set(getattr(self._created, "ids", ())))
        self._created.ids = ()
        touched = link_kiosk_events(conn, new_events, delta)
        if touched:
            recompute_all(
                conn, touched, self._rules(conn), received_at, cache=self.cache, delta=delta
            )
        # Last: every transaction with a scan of the same campaign, store and day updates
        # the same row, and holds its lock until it commits.
        count_campaign_scans(conn, new_events)

    def before(self, engine: Engine, events: list[ValidEvent]) -> None:
        """PostgreSQL: create the profiles the group names in a transaction of their own.

        Two workers creating the same new profile inside their group transactions would
        run one after the other (the second INSERT waits for the first transaction to
        end). A profile row on its own is nothing but a name, and the group that names
        it is committed later (or retried until it is)."""
        self._created.ids = ()
        if engine.dialect.name == "postgresql":
            first_seen = named_profiles(events)
            if first_seen:
                with write_transaction(engine) as conn:
                    self._created.ids = ensure_profiles(conn, first_seen)

    def committed(self) -> None:
        if self.cache is not None:
            self.cache.committed()

    def rolled_back(self) -> None:
        if self.cache is not None:
            self.cache.rolled_back()


def count_campaign_scans(conn: Connection, new_events: list[ValidEvent]) -> None:
    """Anonymous campaign counts: scans per campaign, store and UTC day (no consent
    needed)."""
    scans: dict[tuple[str, str, str], int] = {}
    for ve in new_events:
        ev = ve.event
        if ev.type == "campaign.scanned":
            day = ev.occurred_at.astimezone(UTC).date().isoformat()
            key = (ve.data["campaign_id"], ev.store_id, day)
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


def record_consent(
    conn: Connection, profile_id: str, purpose: str, granted: bool, at: datetime, event_id: str
) -> None:
    conn.execute(
        insert_ignore(conn, consents).values(
            profile_id=profile_id, purpose=purpose, granted=granted, at=at, event_id=event_id
        )
    )


def recompute(conn: Connection, profile_id: str, active: ActiveRules, now: datetime) -> None:
    """Re-derive one profile from its facts and write what changed."""
    recompute_all(conn, [profile_id], active, now)


def recompute_all(
    conn: Connection,
    profile_ids: Iterable[str],
    active: ActiveRules,
    now: datetime,
    *,
    cache: ProfileCache | None = None,
    delta: Delta | None = None,
) -> None:
    """Re-derive several profiles in a fixed number of statements; new threshold crossings
    queue their webhooks before the stored crossings are rewritten."""
    recompute_many(
        conn, profile_ids, active, now, purpose=PROFILING,
        before_crossings=enqueue_new_crossings, cache=cache, delta=delta,
    )  # fmt: skip
