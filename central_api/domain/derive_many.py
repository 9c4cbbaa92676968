"""Re-derive many profiles in a fixed number of statements (the ingest hot path).

The rules are those of ``profile_effects.recompute``: every touched profile is derived
from its whole set of facts. Here the reads are one query per table for the whole
group and the writes one statement per table, so a batch that touches 50 profiles costs
about as many round trips as one that touches one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, update

from ..store.bulk import insert_rows
from ..store.profile_tables import (
    profiles,
    score_ledger,
    stages_reached,
    threshold_crossings,
    touchpoints,
)
from ..store.sql import pairs_in
from .journeys import stage_history
from .journeys import touchpoints as journey_touchpoints
from .profile_facts import consent_state_many, load_facts_many
from .scoring import decay_anchor
from .thresholds import derive_state

DERIVED = (score_ledger, touchpoints, stages_reached, threshold_crossings)


def recompute_many(
    conn: Connection,
    profile_ids: Iterable[str],
    active: Any,
    now: datetime,
    *,
    purpose: str,
    before_crossings: Callable[[Connection, str, list, Any, datetime], Any] | None = None,
) -> None:
    pids = sorted(set(profile_ids))
    if not pids:
        return
    rows = {r.id: r for r in conn.execute(select(profiles).where(profiles.c.id.in_(pids)))}
    live = [p for p in pids if p in rows and rows[p].status == "active"]
    gone = [p for p in pids if p in rows and rows[p].status != "active"]
    for table in DERIVED if gone else ():
        # Merged away: the history counts for the survivor, never twice.
        conn.execute(delete(table).where(table.c.profile_id.in_(gone)))
    if not live:
        return
    facts = load_facts_many(conn, live)
    allowed = consent_state_many(conn, live)
    rules = active.scoring
    ledgers: dict[str, list] = {}
    tps: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    crossings: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for pid in live:
        if allowed[pid].get(purpose, False):
            ledger, g, found, stage = derive_state(facts[pid], rows[pid].attributes, rules)
            grade = g.letter
            tp = journey_touchpoints(facts[pid], active.journey)
            st = stage_history(facts[pid], active.journey)
        else:
            ledger, found, stage, grade, tp, st = [], [], None, None, [], []
        ledgers[pid] = ledger
        if before_crossings is not None and found:
            before_crossings(conn, pid, found, rules, now)
        tps += [
            {"profile_id": pid, "event_id": t.event_id, "occurred_at": t.occurred_at,
             "channel": t.channel, "task": t.task, "device_id": t.device_id,
             "store_id": t.store_id, "campaign_id": t.campaign_id} for t in tp
        ]  # fmt: skip
        stages += [
            {"profile_id": pid, "stage": s.stage, "first_reached_at": s.first_reached_at,
             "event_id": s.event_id, "campaign_id": s.campaign_id, "store_id": s.store_id}
            for s in st
        ]  # fmt: skip
        crossings += [
            {"profile_id": pid, "threshold_id": c.threshold_id, "event_id": c.event_id,
             "at": c.at, "score": c.score, "stage": c.stage} for c in found
        ]  # fmt: skip
        ref_at, ref_sum = decay_anchor(ledger, rules)
        updates.append({
            "pid": pid, "grade": grade, "lifecycle_stage": stage,
            "funnel_stage": st[-1].stage if st else None,
            "score_raw": float(sum(line.points for line in ledger)), "score_ref_sum": ref_sum,
            "score_ref_at": ref_at, "rules_version": rules.version, "updated_at": now,
        })  # fmt: skip
    _write_ledgers(conn, ledgers)
    # Touchpoint and stage rows name an event, whose time, channel, device and store
    # never change: what rules can change is the task, the stage and the attribution.
    _sync_rows(conn, touchpoints, live, tps, "event_id", ("task", "campaign_id"))
    _sync_rows(conn, stages_reached, live, stages, "stage", ("event_id", "campaign_id", "store_id"))
    conn.execute(delete(threshold_crossings).where(threshold_crossings.c.profile_id.in_(live)))
    insert_rows(conn, threshold_crossings, crossings)
    conn.execute(
        update(profiles)
        .where(profiles.c.id == bindparam("pid"))
        .values({k: bindparam(k) for k in updates[0] if k != "pid"}),
        updates,
    )


def _write_ledgers(conn: Connection, ledgers: dict[str, list]) -> None:
    """Keep ledger rows stable: delete what no longer holds, insert what is new."""
    have: dict[str, dict[tuple, tuple[int, float]]] = defaultdict(dict)
    for r in conn.execute(
        select(
            score_ledger.c.id, score_ledger.c.profile_id, score_ledger.c.event_id,
            score_ledger.c.rule_id, score_ledger.c.rules_version, score_ledger.c.points,
        ).where(score_ledger.c.profile_id.in_(list(ledgers)))
    ):  # fmt: skip
        have[r.profile_id][(r.event_id, r.rule_id, r.rules_version)] = (r.id, r.points)
    stale: list[int] = []
    rows: list[dict[str, Any]] = []
    for pid, ledger in ledgers.items():
        want = {(ln.event_id, ln.rule_id, ln.rules_version): ln for ln in ledger}
        for key, (rid, pts) in have[pid].items():
            if key not in want or want[key].points != pts:
                stale.append(rid)
        for key, ln in want.items():
            old = have[pid].get(key)
            if old is None or old[1] != ln.points:
                rows.append(
                    {"profile_id": pid, "event_id": ln.event_id, "rule_id": ln.rule_id,
                     "rules_version": ln.rules_version, "score_group": ln.group,
                     "points": ln.points, "occurred_at": ln.occurred_at}
                )  # fmt: skip
    if stale:
        conn.execute(delete(score_ledger).where(score_ledger.c.id.in_(stale)))
    insert_rows(conn, score_ledger, rows)


def _sync_rows(
    conn: Connection,
    table: Table,
    live: list[str],
    want: list[dict[str, Any]],
    key: str,
    compare: tuple[str, ...],
) -> None:
    """Make ``table``'s rows of the ``live`` profiles equal ``want``, writing only the
    differences. Rows are identified by (profile_id, ``key``); ``compare`` lists the
    columns that can change while the key stays (the others follow from the key)."""
    cols = (table.c.profile_id, table.c[key], *(table.c[c] for c in compare))
    have = {
        (r[0], r[1]): tuple(r[2:])
        for r in conn.execute(select(*cols).where(table.c.profile_id.in_(live)))
    }
    wanted = {(w["profile_id"], w[key]): w for w in want}
    stale = [
        k for k, v in have.items()
        if k not in wanted or tuple(wanted[k][c] for c in compare) != v
    ]  # fmt: skip
    if stale:
        conn.execute(delete(table).where(pairs_in(conn, table.c.profile_id, table.c[key], stale)))
    keep = set(have).difference(stale)
    insert_rows(conn, table, [w for k, w in wanted.items() if k not in keep])
