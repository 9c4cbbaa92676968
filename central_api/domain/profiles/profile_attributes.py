"""Writing explicit attributes: merge-patch them, then re-derive in the same transaction.

The profile's grade, crossings and stage come from its attributes, so a write goes
through the same derivation as ingest (``recompute_all``): a threshold the new grade
lets through fires once, at the fact whose points crossed it, and its webhooks are
queued in this transaction (the outbox of ``domain.webhooks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from ...store.profile_tables import profiles, threshold_crossings
from ..identity.identity import IdentityError, UnknownProfile, live_profile
from ..scoring.active_rules import ActiveRules
from ..scoring.attributes import BadAttribute, apply_patch
from .profile_effects import recompute_all

#: profiles re-derived per statement group (bounds the IN lists of one derivation)
BATCH = 200


class ProfileMerged(IdentityError):
    """The profile was merged: its attributes live on the survivor now (409 at the API)."""

    def __init__(self, profile_id: str, survivor: str) -> None:
        super().__init__(
            f"profile {profile_id} was merged into {survivor}; set attributes on that profile"
        )
        self.profile_id = profile_id
        self.survivor = survivor


@dataclass(frozen=True, slots=True)
class Fired:
    profile_id: str
    threshold_id: str
    event_id: str
    at: datetime
    stage: str | None


@dataclass
class Written:
    #: profile id → its explicit attributes as now stored
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: crossings that exist now and did not before the write (their webhooks are queued)
    fired: list[Fired] = field(default_factory=list)


def _crossing_keys(conn: Connection, pids: list[str]) -> set[tuple[str, str, str]]:
    tc = threshold_crossings.c
    rows = conn.execute(
        select(tc.profile_id, tc.threshold_id, tc.event_id).where(tc.profile_id.in_(pids))
    )
    return {(r[0], r[1], r[2]) for r in rows}


def set_attributes(
    conn: Connection,
    patches: Mapping[str, Mapping[str, Any]] | Iterable[tuple[str, Mapping[str, Any]]],
    active: ActiveRules,
    now: datetime,
    *,
    progress: Any = None,
) -> Written:
    """Apply JSON merge patches to profiles' explicit attributes and re-derive them.

    ``patches`` are applied in order (a profile named twice gets both, the later
    winning). Raises ``UnknownProfile``, ``ProfileMerged`` or ``AttributeProblems``
    (every bad value) before anything is written; the caller's transaction makes the
    whole call all-or-nothing. ``progress``: called with the number of profiles done.
    """
    items = list(patches.items()) if isinstance(patches, Mapping) else list(patches)
    pids = sorted({pid for pid, _ in items})
    written = Written()
    if not pids:
        return written
    pc = profiles.c
    rows: dict[str, Any] = {}
    for i in range(0, len(pids), 5000):
        q = select(pc.id, pc.status, pc.attributes).where(pc.id.in_(pids[i : i + 5000]))
        if conn.dialect.name == "postgresql":
            # in id order, as every re-derivation locks them: no deadlock with ingest
            q = q.order_by(pc.id).with_for_update()
        rows.update({r.id: r for r in conn.execute(q)})
    for pid in pids:
        row = rows.get(pid)
        if row is None:
            raise UnknownProfile(f"no profile {pid}")
        if row.status != "active":
            raise ProfileMerged(pid, live_profile(conn, pid))
    current = {pid: dict(rows[pid].attributes or {}) for pid in pids}
    for pid, patch in items:
        current[pid] = apply_patch(current[pid], patch, active.scoring)
    conn.execute(
        update(profiles)
        .where(profiles.c.id == bindparam("pid"))
        .values(attributes=bindparam("attrs"), updated_at=now),
        [{"pid": pid, "attrs": current[pid]} for pid in pids],
    )
    before = set()
    for i in range(0, len(pids), BATCH):
        chunk = pids[i : i + BATCH]
        before |= _crossing_keys(conn, chunk)
        recompute_all(conn, chunk, active, now)
        if progress is not None:
            progress(len(chunk))
    after: set[tuple[str, str, str]] = set()
    for i in range(0, len(pids), BATCH):
        after |= _crossing_keys(conn, pids[i : i + BATCH])
    tc = threshold_crossings.c
    for pid, tid, event_id in sorted(after - before):
        r = conn.execute(
            select(tc.at, tc.stage).where(
                tc.profile_id == pid, tc.threshold_id == tid, tc.event_id == event_id
            )
        ).one()
        written.fired.append(Fired(pid, tid, event_id, r.at, r.stage))
    written.attributes = current
    return written


__all__ = ["BadAttribute", "Fired", "ProfileMerged", "Written", "set_attributes"]
