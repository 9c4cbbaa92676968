"""``/api/v1/rules``: the active scoring rules, a dry run of a changed file, going live.

The rules file travels as the raw TOML text of the request body (any content type;
``application/toml`` documents it best). Going live is synchronous: ``PUT`` answers once
every profile has been re-derived under the new version.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from central_api.domain.scoring import rules_limits, rules_store
from central_api.domain.scoring.active_rules import active_rules
from central_api.domain.scoring.rules import RuleSet
from central_api.store.db import write_transaction
from edge_sync.protocol import utcnow
from edge_sync.protocol.settings import ConfigError

from .auth import Principal, authenticate, get_engine, guarded
from .errors import ApiError, problem_type, safe_text
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["rules"])

_TOML_BODY = {
    "required": True,
    "description": "the whole rules file (format: `central_api/domain/scoring/default_rules.toml`)",
    "content": {"application/toml": {"schema": {"type": "string"}}},
}


def _with_toml_body(*roles: Any) -> dict[str, Any]:
    args = guarded(*roles)
    args["openapi_extra"] = {**args["openapi_extra"], "requestBody": _TOML_BODY}
    return args


def _invalid(detail: str, problems: list[tuple[str, str]]) -> ApiError:
    return ApiError(
        422,
        detail,
        type_=problem_type("invalid-rules"),
        errors=[
            {"location": "body", "field": safe_text(path), "detail": safe_text(msg, 500),
             "type": "invalid_rules"}
            for path, msg in problems
        ],
    )  # fmt: skip


async def rules_text(request: Request) -> str:
    """The request body as a rules file's text (read after authentication)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("the rules file is not UTF-8 text", [("(body)", "not UTF-8")]) from None
    if not text.strip():
        raise _invalid("empty body: send the rules file as TOML", [("(body)", "empty")])
    if "\x00" in text:
        raise _invalid("the rules file contains a NUL character", [("(body)", "NUL")])
    try:
        rules_limits.check_size(text)
    except rules_limits.RulesTooLarge as err:
        raise ApiError(413, str(err), type_=problem_type("rules-too-large")) from None
    return text


def _parse(text: str) -> RuleSet:
    # Bounded before tomllib and the rule-set model see it (both recurse on nesting).
    try:
        rules_limits.check_nesting(text)
    except rules_limits.RulesTooDeep as err:
        raise _invalid(f"invalid rules: {err}", [("(body)", str(err))]) from None
    try:
        return rules_store.parse(text)
    except ConfigError as err:
        first = err.problems[0] if err.problems else ("(rules)", "invalid")
        more = f" (and {len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
        raise _invalid(f"invalid rules: {first[0]}: {first[1]}{more}", err.problems) from None


def _conflict(err: rules_store.RulesConflict) -> ApiError:
    return ApiError(409, str(err), type_=problem_type("rules-version-conflict"))


class RulesOut(BaseModel):
    version: str = Field(examples=["2026.2"])
    #: "builtin" until a rules file has been stored
    source: Literal["stored", "builtin"]
    text: str
    created_at: Timestamp | None
    created_by: str | None = Field(description="the API key id that stored it")
    activated_at: Timestamp | None
    stale_profiles: int = Field(
        description="active profiles not yet re-derived under this version (0 when done)"
    )


class ThresholdDryRun(BaseModel):
    threshold_id: str = Field(examples=["mql"])
    would_cross: int = Field(description="profiles that cross it at least once under the file")
    crossing_now: int = Field(description="the same under the active rules")
    newly_crossing: int
    no_longer_crossing: int
    fires: int = Field(description="crossings under the file, re-crossings included")
    fires_now: int


class DryRunOut(BaseModel):
    active_version: str
    version: str
    profiles: int = Field(description="active profiles with a profiling consent, all counted")
    thresholds: list[ThresholdDryRun]


class ThresholdLive(BaseModel):
    threshold_id: str
    profiles: int = Field(description="profiles with at least one stored crossing")
    crossings: int


class GoLiveOut(BaseModel):
    version: str
    previous_version: str
    changed: bool = Field(description="false when this version was active already")
    rederived_profiles: int = Field(description="re-derived by this call before it returned")
    complete: bool = Field(description="every profile is derived under this version")
    stale_profiles: int = Field(description="not yet re-derived (see GET /rules)")
    thresholds: list[ThresholdLive] = Field(description="as stored when the call returned")


@router.get(
    "/rules", response_model=RulesOut, summary="The active rules file", **guarded("marketer")
)
def get_rules(engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    with engine.connect() as conn:
        stored = rules_store.active_stored(conn)
        stale = rules_store.stale_count(conn)
    return {
        "version": stored.version,
        "source": stored.source,
        "text": stored.text,
        "created_at": stored.created_at,
        "created_by": stored.created_by,
        "activated_at": stored.activated_at,
        "stale_profiles": stale,
    }


@router.post(
    "/rules/dry-run",
    response_model=DryRunOut,
    summary="How many profiles would cross each threshold under a changed rules file",
    responses={409: {"description": "The file's version is stored with different rules"}},
    **_with_toml_body(),
)
def dry_run_rules(
    text: Annotated[str, Depends(rules_text)], engine: Annotated[Engine, Depends(get_engine)]
) -> dict[str, Any]:
    """Nothing is stored. Counts are over every active profile with a profiling consent,
    now (under the active rules) and under the file; going live produces exactly these."""
    new = _parse(text)
    with engine.connect() as conn:
        try:
            rules_store.check_version(conn, new)
        except rules_store.RulesConflict as err:
            raise _conflict(err) from None
        active_version = active_rules(conn).scoring.version
        profiles, counts = rules_store.dry_run(conn, new)
    return {
        "active_version": active_version,
        "version": new.version,
        "profiles": profiles,
        "thresholds": [{"threshold_id": tid, **row} for tid, row in counts.items()],
    }


@router.put(
    "/rules",
    response_model=GoLiveOut,
    summary="Store and activate a rules file, then re-derive every profile under it",
    responses={
        202: {"description": "Activated; profiles are being re-derived (`wait=false`)"},
        409: {"description": "The file's version is stored with different rules"},
    },
    **_with_toml_body(),
)
def put_rules(
    text: Annotated[str, Depends(rules_text)],
    engine: Annotated[Engine, Depends(get_engine)],
    principal: Annotated[Principal, Depends(authenticate)],
    response: Response,
    wait: Annotated[
        bool,
        Query(
            description="false: answer 202 once the file is active and re-derive in the"
            " background (about 0.5 ms a profile); follow `stale_profiles` in GET /rules"
        ),
    ] = True,
) -> dict[str, Any]:
    """Idempotent: the same file again re-activates it and finishes any re-derivation a
    failed call left. Change `version` whenever the rules change."""
    new = _parse(text)
    now = utcnow()
    try:
        with write_transaction(engine) as conn:
            act = rules_store.activate(conn, text, principal.key_id, now)
    except rules_store.RulesConflict as err:
        raise _conflict(err) from None
    n = 0
    if wait:
        n = rules_store.rederive(engine, act.version, now)
    else:
        rules_store.rederive_in_background(engine, act.version, now)
    with engine.connect() as conn:
        counts = rules_store.crossing_counts(conn)
        stale = rules_store.stale_count(conn)
    if not wait:
        response.status_code = 202
    return {
        "version": act.version,
        "previous_version": act.previous_version,
        "changed": act.changed,
        "rederived_profiles": n,
        "complete": stale == 0,
        "stale_profiles": stale,
        "thresholds": [
            {"threshold_id": t.id, **counts.get(t.id, {"profiles": 0, "crossings": 0})}
            for t in new.thresholds
        ],
    }
