"""``/api/v1/profiles``: search, one profile, its score explained, its journey, its export.

Merged profiles: ``GET /profiles/{id}`` and ``/export`` describe what is stored under the
id, so they answer 200 with ``status: merged`` and ``merged_into``. ``/score`` and
``/journey`` are views of the history, which moved to the survivor, so they answer 404
(type ``profile-merged``) with a detail naming the survivor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import Connection, Engine, Row, func, or_, select, tuple_

from central_api.domain.identity.identity import live_profile
from central_api.domain.journeys import friction
from central_api.domain.journeys.journey_rules import STAGE_INDEX, Stage
from central_api.domain.profiles.profile_effects import PROFILING
from central_api.domain.profiles.profile_facts import consent_state, load_facts
from central_api.domain.scoring.active_rules import ActiveRules, active_rules
from central_api.domain.scoring.rounding import round_groups, round_parts, round_total
from central_api.domain.scoring.rules import GradeLetter
from central_api.domain.scoring.scoring import LedgerLine, Scores, decayed_at, explain, score_totals
from central_api.store.profile_tables import (
    consents,
    merges,
    orders,
    profile_aliases,
    profiles,
    score_ledger,
    session_links,
    stages_reached,
    threshold_crossings,
    touchpoints,
)
from edge_sync.protocol import utcnow

from . import profile_schemas as s
from .auth import get_engine, guarded
from .errors import ApiError, problem_type
from .pagination import (
    Page,
    PageParams,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    page_params,
)
from .profile_schemas import PLAIN, UtcTime

router = APIRouter(prefix="/api/v1", tags=["profiles"])
_LISTING = "profiles"
#: the cursor of each sort order is tagged with it, so one order's cursor fails in another
_SORT_LISTING = {"id": _LISTING, "-score": "profiles:-score", "score": "profiles:score"}
ID_MAX = 64  # profiles.id is String(64)


def get_active_rules(engine: Annotated[Engine, Depends(get_engine)]) -> ActiveRules:
    """The active stored rules, which scores decay by and journeys are judged with (a
    dependency, so a test can override it)."""
    with engine.connect() as conn:
        return active_rules(conn)


Rules = Annotated[ActiveRules, Depends(get_active_rules)]
Db = Annotated[Engine, Depends(get_engine)]
ProfileId = Annotated[str, Path(description="the profile id")]
_PROFILE_404 = {404: {"description": "No profile with this id"}}
_MERGED_404 = {404: {"description": "No profile with this id, or it was merged (see detail)"}}


def _profile(conn: Connection, profile_id: str) -> Row[Any]:
    row = None
    if len(profile_id) <= ID_MAX and "\x00" not in profile_id:  # else it names no profile
        row = conn.execute(select(profiles).where(profiles.c.id == profile_id)).first()
    if row is None:
        raise ApiError(404, "no profile with this id", type_=problem_type("not-found"))
    return row


def _active_profile(conn: Connection, profile_id: str) -> Row[Any]:
    row = _profile(conn, profile_id)
    if row.status != "active":
        raise ApiError(
            404,
            # (live_profile follows a chain of merges to the profile that holds it all now)
            f"profile {profile_id} was merged into {live_profile(conn, profile_id)}; "
            "ask for that profile",
            type_=problem_type("profile-merged"),
        )
    return row


def _rows(conn: Connection, table: Any, profile_id: str, *order: str) -> list[dict[str, Any]]:
    """A profile's rows of ``table``, sorted by the ``order`` columns in Python (not SQL:
    PostgreSQL collations order text differently, and ties would differ by backend)."""
    rows = conn.execute(select(table).where(table.c.profile_id == profile_id)).mappings()
    return sorted((dict(r) for r in rows), key=lambda r: tuple(r[k] for k in order))


def _ledger(conn: Connection, profile_ids: Iterable[str]) -> dict[str, list[LedgerLine]]:
    out: dict[str, list[LedgerLine]] = {}
    q = select(score_ledger).where(score_ledger.c.profile_id.in_(sorted(set(profile_ids))))
    for r in conn.execute(q):
        out.setdefault(r.profile_id, []).append(
            # points are whole numbers (rules give integers), stored in a Float column
            LedgerLine(r.event_id, r.rule_id, r.rules_version, r.score_group, int(r.points),
                       r.occurred_at)
        )  # fmt: skip
    return out


def _stages(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    rows = _rows(conn, stages_reached, profile_id)
    return sorted(rows, key=lambda r: STAGE_INDEX[r["stage"]])


def _latest_consents(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    """The latest decision per purpose by ``(at, event_id)``, as ``consent_state`` decides."""
    latest: dict[str, dict[str, Any]] = {}
    for r in _rows(conn, consents, profile_id, "at", "event_id"):
        latest[r["purpose"]] = r  # the last one wins
    return [latest[p] for p in sorted(latest)]


@router.get(
    "/profiles",
    response_model=Page[s.ProfileSummary],
    summary="Search and list active profiles",
    **guarded("marketer"),
)
def list_profiles(
    engine: Db,
    rules: Rules,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[
        str | None,
        Query(
            max_length=128,
            pattern=PLAIN,
            description="a profile id prefix, or an alias "
            "value (customer id, hashed email) matched exactly; empty = everyone",
        ),
    ] = None,
    stage: Annotated[Stage | None, Query(description="only profiles at this funnel stage")] = None,
    grade: Annotated[GradeLetter | None, Query(description="only profiles of this grade")] = None,
    lifecycle_stage: Annotated[
        str | None,
        Query(
            max_length=64,
            description="only profiles at this lifecycle stage (a stage "
            "the active rules' thresholds set, e.g. mql)",
        ),
    ] = None,
    sort: Annotated[
        Literal["id", "-score", "score"],
        Query(description="`id` (default), `-score` (highest score first) or `score`"),
    ] = "id",
) -> dict[str, Any]:
    """Active profiles by id, or by score. ``score`` is the decayed score now, from the
    stored anchor: ``score_ref_sum × 2^(−(now − score_ref_at)/half-life)`` (0 without a
    ledger), rounded to 0.1. Every score decays by the same factor, so the order by score
    is the same at every instant and pages by score are stable; ties go by id (``-score``:
    higher ids first). A profile whose anchor is in the future (a device clock ahead)
    sorts by its anchor, and shows its score as of now."""
    stmt = select(profiles).where(profiles.c.status == "active")
    if q:
        by_alias = select(profile_aliases.c.profile_id).where(profile_aliases.c.value == q)
        # substr, not LIKE: LIKE ignores ASCII case on SQLite and not on PostgreSQL
        stmt = stmt.where(
            or_(func.substr(profiles.c.id, 1, len(q)) == q, profiles.c.id.in_(by_alias))
        )
    if stage is not None:
        stmt = stmt.where(profiles.c.funnel_stage == stage)
    if grade is not None:
        stmt = stmt.where(profiles.c.grade == grade)
    if lifecycle_stage is not None:
        known = rules.scoring.stage_rank()
        if lifecycle_stage not in known:
            detail = f"not a lifecycle stage of rules {rules.scoring.version}: one of " + (
                ", ".join(known) or "(none: the rules set no stages)"
            )
            raise ApiError(422, f"invalid lifecycle_stage: {detail}",
                           type_=problem_type("invalid-request"),
                           errors=[{"location": "query", "field": "lifecycle_stage",
                                    "detail": detail, "type": "enum"}])  # fmt: skip
        stmt = stmt.where(profiles.c.lifecycle_stage == lifecycle_stage)
    listing = _SORT_LISTING[sort]
    pc = profiles.c
    if sort == "id":
        if page.cursor:
            (after,) = decode_cursor(page.cursor, listing, (str,))
            stmt = stmt.where(pc.id > after)
        stmt = stmt.order_by(pc.id)
    else:
        key = tuple_(pc.score_sign, pc.score_key, pc.id)
        if page.cursor:
            position = decode_cursor(page.cursor, listing, (int, float, str))
            if position[0] not in (-1, 0, 1) or not math.isfinite(position[1]):
                raise invalid_cursor()
            stmt = stmt.where(
                key < tuple_(*position) if sort == "-score" else key > tuple_(*position)
            )
        cols = (pc.score_sign, pc.score_key, pc.id)
        stmt = stmt.order_by(*(c.desc() for c in cols) if sort == "-score" else cols)
    now = utcnow()
    with engine.connect() as conn:
        rows = conn.execute(stmt.limit(page.limit + 1)).all()
        more, rows = len(rows) > page.limit, rows[: page.limit]
        # An anchor gives the score at or after its time only; a profile with lines dated
        # after now (a device clock ahead) is scored from its ledger, as explain would.
        ahead = [r.id for r in rows if r.score_ref_at is not None and r.score_ref_at > now]
        ledgers = _ledger(conn, ahead) if ahead else {}

    def score(r: Row[Any]) -> float:
        if r.score_ref_at is not None and r.score_ref_at > now:
            return score_totals(ledgers.get(r.id, []), rules.scoring, now).total_decayed
        return decayed_at((r.score_ref_at, r.score_ref_sum), rules.scoring, now)

    items = [
        {"id": r.id, "grade": r.grade, "lifecycle_stage": r.lifecycle_stage,
         "funnel_stage": r.funnel_stage, "score": round_total(score(r)),
         "score_raw": int(r.score_raw), "updated_at": r.updated_at}
        for r in rows
    ]  # fmt: skip
    nxt = None
    if more:
        last = rows[-1]
        position = (last.id,) if sort == "id" else (last.score_sign, last.score_key, last.id)
        nxt = encode_cursor(listing, position)
    return {"items": items, "limit": page.limit, "next": nxt}


@router.get(
    "/profiles/{profile_id}",
    response_model=s.ProfileDetail,
    summary="One profile: aliases, consents, attributes, grade, stages, score",
    responses=_PROFILE_404,
    **guarded("marketer"),
)
def get_profile(profile_id: ProfileId, engine: Db, rules: Rules) -> dict[str, Any]:
    """A merged profile answers 200 with ``status: merged`` and ``merged_into`` (its
    history is the survivor's now). ``score`` is exact, from the ledger, as of now."""
    now = utcnow()
    with engine.connect() as conn:
        p = _profile(conn, profile_id)
        ledger = _ledger(conn, [profile_id]).get(profile_id, [])
        aliases = _rows(conn, profile_aliases, profile_id, "kind", "value")
        latest = _latest_consents(conn, profile_id)
        stages = _stages(conn, profile_id)
    return {
        **{k: p._mapping[k] for k in s.PROFILE_FIELDS},
        "aliases": aliases,
        "consents": latest,
        "stages": stages,
        "score": {"at": now, "rules_version": rules.scoring.version,
                  **_rounded(score_totals(ledger, rules.scoring, now))},
    }  # fmt: skip


def _rounded(scores: Scores) -> dict[str, Any]:
    """Totals for people: decayed values to 0.1, the groups adding up to the total."""
    total, groups = round_groups(scores.total_decayed, scores.by_group_decayed)
    return {**asdict(scores), "total_decayed": total, "by_group_decayed": groups}


@router.get(
    "/profiles/{profile_id}/score",
    response_model=s.ScoreExplanation,
    summary="Explain a score: every ledger line and its decayed contribution",
    responses=_MERGED_404,
    **guarded("marketer"),
)
def explain_score(
    profile_id: ProfileId,
    engine: Db,
    rules: Rules,
    at: Annotated[UtcTime | None, Query(description="score as of this time; default now")] = None,
) -> dict[str, Any]:
    """The totals are computed from the lines listed, so they equal their sums; lines
    after ``at`` are left out (counted in ``later_lines``)."""
    at = at or utcnow()
    with engine.connect() as conn:
        _active_profile(conn, profile_id)
        ledger = _ledger(conn, [profile_id]).get(profile_id, [])
    ex = explain(ledger, rules.scoring, at)
    totals = _rounded(ex.scores)
    # Each group's lines are rounded to add up to the group's shown total, and the
    # groups to the shown total: what a person adds up on screen matches.
    shown: dict[int, float] = {}
    for group, value in totals["by_group_decayed"].items():
        mine = [i for i, e in enumerate(ex.lines) if e.line.group == group]
        parts = round_parts([ex.lines[i].decayed for i in mine], value)
        shown.update(zip(mine, parts, strict=True))
    return {
        "profile_id": profile_id,
        "at": ex.at,
        "rules_version": rules.scoring.version,
        "half_life_days": rules.scoring.half_life_days,
        "lines": [{**asdict(e.line), "decayed": shown[i]} for i, e in enumerate(ex.lines)],
        "later_lines": ex.later_lines,
        "totals": totals,
    }


@router.get(
    "/profiles/{profile_id}/journey",
    response_model=s.JourneyOut,
    summary="A profile's timeline: touchpoints, stages, current stage, friction",
    responses=_MERGED_404,
    **guarded("marketer"),
)
def get_journey(
    profile_id: ProfileId,
    engine: Db,
    rules: Rules,
    now: Annotated[
        UtcTime | None, Query(description="judge friction windows as of this time; default now")
    ] = None,
) -> dict[str, Any]:
    """Without a granted ``profiling`` consent the journey is empty and ``withheld`` says
    why: central keeps no journey for such a profile."""
    now = now or utcnow()
    tps: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    found: list[friction.Finding] = []
    withheld = None
    with engine.connect() as conn:
        _active_profile(conn, profile_id)
        consent = consent_state(conn, profile_id)
        if consent.get(PROFILING, False):
            tps = _rows(conn, touchpoints, profile_id, "occurred_at", "event_id")
            stages = _stages(conn, profile_id)
            found = friction.findings(load_facts(conn, profile_id), rules.journey, now)
        else:
            why = "revoked" if PROFILING in consent else "never granted"
            withheld = f"no profiling consent ({why}): central keeps no journey for it"
    return {
        "profile_id": profile_id,
        "now": now,
        "touchpoints": tps,
        "stages": stages,
        "current_stage": stages[-1]["stage"] if stages else None,
        "friction": [asdict(f) for f in found],
        "withheld": withheld,
    }


@router.get(
    "/profiles/{profile_id}/export",
    response_model=s.ProfileExport,
    summary="Everything stored about a profile, as one document (data-subject access)",
    responses=_PROFILE_404,
    **guarded("marketer"),
)
def export_profile(profile_id: ProfileId, engine: Db, response: Response) -> dict[str, Any]:
    """The profile row, its aliases, every consent decision, linked kiosk sessions,
    orders, ledger lines, touchpoints, stages, threshold crossings, merges it took part
    in, and the facts (events) attached to it."""
    with engine.connect() as conn:
        p = _profile(conn, profile_id)
        doc = {
            "exported_at": utcnow(),
            "profile": {**{k: p._mapping[k] for k in s.PROFILE_FIELDS},
                        **{k: p._mapping[k] for k in s.EXPORT_EXTRA_FIELDS}},
            "aliases": _rows(conn, profile_aliases, profile_id, "kind", "value"),
            "consents": _rows(conn, consents, profile_id, "at", "event_id", "purpose"),
            "sessions": _rows(conn, session_links, profile_id, "linked_at", "event_id"),
            "orders": _rows(conn, orders, profile_id, "placed_at", "order_id"),
            "ledger": _rows(conn, score_ledger, profile_id, "occurred_at", "event_id", "id"),
            "touchpoints": _rows(conn, touchpoints, profile_id, "occurred_at", "event_id"),
            "stages": _stages(conn, profile_id),
            "crossings": _rows(conn, threshold_crossings, profile_id, "at", "threshold_id"),
            "merges": [
                dict(r) for r in conn.execute(
                    select(merges.c.id, merges.c.survivor_id, merges.c.merged_id, merges.c.at,
                           merges.c.reason, merges.c.undone_at)
                    .where(or_(merges.c.survivor_id == profile_id,
                               merges.c.merged_id == profile_id))
                    .order_by(merges.c.id)
                ).mappings()
            ],
            "facts": [s.fact_doc(f) for f in load_facts(conn, profile_id)],
        }  # fmt: skip
    response.headers["Cache-Control"] = "no-store"  # personal data
    return doc
