"""Re-derive many profiles in a fixed number of statements (the ingest hot path).

The rules are those of ``profile_effects.recompute``: every touched profile is derived
from its whole set of facts. Here the reads are one query per table for the whole
group and the writes one statement per table, so a batch that touches 50 profiles costs
about as many round trips as one that touches one.

With a ``ProfileCache`` (ingest workers), a profile this worker re-derived before and
nobody has re-derived since is not read again: its remembered facts, consents and
derived rows, with the transaction's own ``Delta`` applied, stand in for the reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, update

from ...store.bulk import insert_rows
from ...store.profile_tables import (
    profiles,
    score_ledger,
    stages_reached,
    threshold_crossings,
    touchpoints,
)
from ...store.sql import pairs_in, tuples_in
from ..facts import Fact, ordered
from ..journeys.journeys import stage_history
from ..journeys.journeys import touchpoints as journey_touchpoints
from ..scoring.scoring import decay_anchor, score_order
from ..scoring.thresholds import derive_state
from .profile_cache import (
    ConsentRows,
    Delta,
    LedgerKeys,
    ProfileCache,
    ProfileState,
    empty_state,
)
from .profile_facts import consent_rows_many, latest_consents, load_facts_many

DERIVED = (score_ledger, touchpoints, stages_reached, threshold_crossings)

#: touchpoint and stage rows name an event, whose time, channel, device and store never
#: change: what rules can change is the task, the stage and the attribution
_TP_KEY, _TP_COMPARE = "event_id", ("task", "campaign_id")
_STAGE_KEY, _STAGE_COMPARE = "stage", ("event_id", "campaign_id", "store_id")
_LEDGER_KEY = ("event_id", "rule_id", "rules_version")

_NO_CHANGES = Delta()


def recompute_many(
    conn: Connection,
    profile_ids: Iterable[str],
    active: Any,
    now: datetime,
    *,
    purpose: str,
    before_crossings: Callable[[Connection, str, list, Any, datetime], Any] | None = None,
    cache: ProfileCache | None = None,
    delta: Delta | None = None,
) -> None:
    """Re-derive ``profile_ids`` and write what changed. ``delta`` is what this
    transaction changed in their facts and consents so far (needed to use ``cache``)."""
    pids = sorted(set(profile_ids))
    if not pids:
        return
    pc = profiles.c
    q = select(pc.id, pc.status, pc.revision, pc.attributes).where(pc.id.in_(pids))
    if conn.dialect.name == "postgresql":
        # Locked before anything of theirs is read: a concurrent re-derivation of the
        # same profile waits for this one to commit, then reads what it wrote.
        q = q.order_by(pc.id).with_for_update(key_share=True)
    rows = {r.id: r for r in conn.execute(q).all()}
    live = [p for p in pids if p in rows and rows[p].status == "active"]
    gone = [p for p in pids if p in rows and rows[p].status != "active"]
    for table in DERIVED if gone else ():
        # Merged away: the history counts for the survivor, never twice.
        conn.execute(delete(table).where(table.c.profile_id.in_(gone)))
    for pid in gone if cache is not None else ():
        cache.stage(pid, None)
    if not live:
        return

    warm: dict[str, tuple[dict[str, Fact], ConsentRows, ProfileState]] = {}
    if cache is not None:
        changes = delta if delta is not None else _NO_CHANGES
        for pid in live:
            revision = rows[pid].revision
            state = cache.get(pid, revision)
            if state is None and revision == 0 and pid in changes.created:
                state = empty_state()
            now_known = changes.apply(pid, state) if state is not None else None
            if now_known is not None:
                warm[pid] = (*now_known, state)  # type: ignore[assignment]
    cold = [p for p in live if p not in warm]
    facts = load_facts_many(conn, cold)
    consent_rows = consent_rows_many(conn, cold)
    for pid, (known, consents, _) in warm.items():
        facts[pid] = ordered(known.values())
        consent_rows[pid] = consents
    had_ledger = _read_ledgers(conn, cold)
    had_tps = _read_keyed(conn, touchpoints, cold, _TP_KEY, _TP_COMPARE)
    had_stages = _read_keyed(conn, stages_reached, cold, _STAGE_KEY, _STAGE_COMPARE)
    for pid, (_, _, state) in warm.items():
        had_ledger[pid] = state.ledger
        had_tps[pid] = state.touchpoints
        had_stages[pid] = state.stages

    rules = active.scoring
    ledgers: dict[str, list] = {}
    tps: dict[str, list] = {}
    stages: dict[str, list] = {}
    crossings: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for pid in live:
        if latest_consents(consent_rows[pid]).get(purpose, False):
            ledger, g, found, stage, derived = derive_state(facts[pid], rows[pid].attributes, rules)
            grade = g.letter
            tp = journey_touchpoints(facts[pid], active.journey)
            st = stage_history(facts[pid], active.journey)
        else:
            ledger, found, stage, grade, tp, st, derived = [], [], None, None, [], [], {}
        ledgers[pid] = ledger
        if before_crossings is not None and found:
            before_crossings(conn, pid, found, rules, now)
        tps[pid] = tp
        stages[pid] = st
        crossings += [
            {"profile_id": pid, "threshold_id": c.threshold_id, "event_id": c.event_id,
             "at": c.at, "score": c.score, "stage": c.stage} for c in found
        ]  # fmt: skip
        ref_at, ref_sum = decay_anchor(ledger, rules)
        updates.append({
            "pid": pid, "grade": grade, "lifecycle_stage": stage,
            "funnel_stage": st[-1].stage if st else None,
            "score_raw": float(sum(line.points for line in ledger)), "score_ref_sum": ref_sum,
            "score_ref_at": ref_at, **score_order(ref_at, ref_sum, rules),
            "derived_attributes": derived, "rules_version": rules.version, "updated_at": now,
        })  # fmt: skip
    now_ledger = _write_ledgers(conn, ledgers, had_ledger, rules.version)
    now_tps = _sync_rows(conn, touchpoints, tps, had_tps, _TP_KEY, _TP_COMPARE, _tp_row)
    now_stages = _sync_rows(
        conn, stages_reached, stages, had_stages, _STAGE_KEY, _STAGE_COMPARE, _stage_row
    )
    conn.execute(delete(threshold_crossings).where(threshold_crossings.c.profile_id.in_(live)))
    insert_rows(conn, threshold_crossings, crossings)
    values = {k: bindparam(k) for k in updates[0] if k != "pid"}
    conn.execute(
        update(profiles)
        .where(profiles.c.id == bindparam("pid"))
        .values(**values, revision=profiles.c.revision + 1),
        updates,
    )
    if cache is not None:
        for pid in live:
            cache.stage(
                pid,
                ProfileState(
                    revision=rows[pid].revision + 1,
                    facts={f.event_id: f for f in facts[pid]},
                    consents=consent_rows[pid],
                    ledger=now_ledger.get(pid, {}),
                    touchpoints=now_tps.get(pid, {}),
                    stages=now_stages.get(pid, {}),
                ),
            )


def _read_ledgers(conn: Connection, pids: list[str]) -> dict[str, LedgerKeys]:
    out: dict[str, LedgerKeys] = {p: {} for p in pids}
    if pids:
        cols = [score_ledger.c[k] for k in ("profile_id", *_LEDGER_KEY, "points")]
        for r in conn.execute(select(*cols).where(score_ledger.c.profile_id.in_(pids))).all():
            out[r[0]][(r[1], r[2], r[3])] = r[4]
    return out


def _write_ledgers(
    conn: Connection, ledgers: dict[str, list], had: dict[str, LedgerKeys], version: str
) -> dict[str, LedgerKeys]:
    """Keep ledger rows stable: delete what no longer holds, insert what is new. Returns
    each profile's ledger keys as now stored. ``version``: the rules version of every
    line in ``ledgers``."""
    stale: list[tuple[str, str, str, str]] = []
    rows: list[dict[str, Any]] = []
    now: dict[str, LedgerKeys] = {}
    for pid, ledger in ledgers.items():
        want = {(ln.event_id, ln.rule_id, ln.rules_version): ln for ln in ledger}
        have = had.get(pid, {})
        for key, pts in have.items():
            if key not in want or want[key].points != pts:
                stale.append((pid, *key))
        for key, ln in want.items():
            old = have.get(key)
            if old is None or old != ln.points:
                rows.append(
                    {"profile_id": pid, "event_id": ln.event_id, "rule_id": ln.rule_id,
                     "rules_version": ln.rules_version, "score_group": ln.group,
                     "points": ln.points, "occurred_at": ln.occurred_at}
                )  # fmt: skip
        now[pid] = {key: ln.points for key, ln in want.items()}
    # After a rules change every line of an older version goes: one statement by
    # profile, rather than a list of hundreds of thousands of keys.
    superseded = sorted({k[0] for k in stale if k[3] != version})
    if superseded:
        sl = score_ledger.c
        conn.execute(
            delete(score_ledger).where(sl.profile_id.in_(superseded), sl.rules_version != version)
        )
    stale = [k for k in stale if k[3] == version]
    if stale:
        cols = [score_ledger.c[k] for k in ("profile_id", *_LEDGER_KEY)]
        conn.execute(delete(score_ledger).where(tuples_in(conn, cols, stale)))
    insert_rows(conn, score_ledger, rows)
    return now


def _read_keyed(
    conn: Connection, table: Table, pids: list[str], key: str, compare: tuple[str, ...]
) -> dict[str, dict[str, tuple]]:
    out: dict[str, dict[str, tuple]] = {p: {} for p in pids}
    if pids:
        cols = (table.c.profile_id, table.c[key], *(table.c[c] for c in compare))
        for r in conn.execute(select(*cols).where(table.c.profile_id.in_(pids))).all():
            out[r[0]][r[1]] = tuple(r[2:])
    return out


def _tp_row(pid: str, t: Any) -> dict[str, Any]:
    return {"profile_id": pid, "event_id": t.event_id, "occurred_at": t.occurred_at,
            "channel": t.channel, "task": t.task, "device_id": t.device_id,
            "store_id": t.store_id, "campaign_id": t.campaign_id}  # fmt: skip


def _stage_row(pid: str, s: Any) -> dict[str, Any]:
    return {"profile_id": pid, "stage": s.stage, "first_reached_at": s.first_reached_at,
            "event_id": s.event_id, "campaign_id": s.campaign_id, "store_id": s.store_id}  # fmt: skip


def _sync_rows(
    conn: Connection,
    table: Table,
    want: dict[str, list],
    had: dict[str, dict[str, tuple]],
    key: str,
    compare: tuple[str, ...],
    row: Callable[[str, Any], dict[str, Any]],
) -> dict[str, dict[str, tuple]]:
    """Make ``table``'s rows of the profiles in ``want`` (objects with the columns as
    attributes) equal ``want``, writing only the differences. Rows are identified by
    (profile_id, ``key``); ``compare`` lists the columns that can change while the key
    stays (the others follow from the key). Returns what is now stored, as ``had``."""
    get_key, get_compare = attrgetter(key), attrgetter(*compare)
    now: dict[str, dict[str, tuple]] = {}
    stale: list[tuple[str, str]] = []
    new: list[dict[str, Any]] = []
    for pid, items in want.items():
        before = had.get(pid, {})
        mine = now[pid] = {}
        for item in items:
            k, v = get_key(item), get_compare(item)
            v = v if len(compare) > 1 else (v,)
            mine[k] = v
            if before.get(k) != v:
                new.append(row(pid, item))
        stale += [(pid, k) for k, v in before.items() if mine.get(k) != v]
    if stale:
        conn.execute(delete(table).where(pairs_in(conn, table.c.profile_id, table.c[key], stale)))
    insert_rows(conn, table, new)
    return now
