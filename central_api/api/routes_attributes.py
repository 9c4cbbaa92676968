"""Explicit profile attributes: ``PATCH /profiles/{id}/attributes`` and a CSV import.

Both write through ``domain.profiles.profile_attributes.set_attributes``: the profile's grade,
threshold crossings and stage are re-derived in the same transaction, so a threshold
the new attributes let through fires (once) and its webhooks are queued before the
response. The bodies are read after authentication (a dependency of the route).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from central_api.domain.identity.identity import UnknownProfile
from central_api.domain.profiles.profile_attributes import ProfileMerged, Written, set_attributes
from central_api.domain.scoring.active_rules import active_rules
from central_api.domain.scoring.attributes import AttributeProblems
from central_api.imports.attributes import ImportFailed, import_csv_text
from central_api.store.db import write_transaction
from central_api.store.profile_tables import profiles
from edge_sync.protocol import utcnow

from .auth import get_engine, guarded
from .csv_refusal import refused
from .errors import ApiError, problem_type, safe_text
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["profiles"])
ID_MAX = 64

_PATCH_BODY = {
    "required": True,
    "description": "a JSON merge patch (RFC 7396) of the explicit attributes: each name "
    "set to a string (at most 200 characters), a finite number or a boolean; null "
    "removes it",
    "content": {
        "application/merge-patch+json": {
            "schema": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
            },
            "example": {"segment": "loyal", "distance_km": 4.2, "old_field": None},
        }
    },
}
_CSV_BODY = {
    "required": True,
    "description": "UTF-8 CSV with a header: one key column (profile_id, customer_id, "
    "email_sha256 or email) and attribute columns; an empty cell removes the attribute",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


def _with_body(body: dict[str, Any], *roles: Any) -> dict[str, Any]:
    args = guarded(*roles)
    args["openapi_extra"] = {**args["openapi_extra"], "requestBody": body}
    return args


class FiredOut(BaseModel):
    profile_id: str
    threshold_id: str = Field(examples=["mql"])
    event_id: str = Field(description="the event whose points crossed the threshold")
    at: Timestamp
    stage: str | None


class AttributesOut(BaseModel):
    id: str
    attributes: dict[str, Any] = Field(description="explicit attributes, as now stored")
    derived_attributes: dict[str, Any] = Field(description="derived by the rules from events")
    grade: str | None = Field(description="null without a profiling consent")
    lifecycle_stage: str | None
    fired: list[FiredOut] = Field(description="threshold crossings this write caused")


class ImportOut(BaseModel):
    rows: int
    profiles: int = Field(description="distinct profiles written")
    created: int = Field(description="profiles created for aliases not seen before")
    fired: list[FiredOut]


def _bad_body(detail: str, field: str = "(body)") -> ApiError:
    return ApiError(
        422,
        detail,
        type_=problem_type("invalid-attributes"),
        errors=[{"location": "body", "field": field, "detail": detail, "type": "invalid"}],
    )


async def patch_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (read after authentication)."""
    raw = await request.body()
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested beyond Python's limit
        raise _bad_body("the body is not JSON: send a JSON object of attributes") from None
    if not isinstance(doc, dict):
        raise _bad_body("the body must be a JSON object of attributes")
    return doc


async def csv_body(request: Request) -> str:
    raw = await request.body()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad_body("the CSV is not UTF-8 text") from None


def _fired(written: Written) -> list[dict[str, Any]]:
    return [
        {"profile_id": f.profile_id, "threshold_id": f.threshold_id, "event_id": f.event_id,
         "at": f.at, "stage": f.stage}
        for f in written.fired
    ]  # fmt: skip


@router.patch(
    "/profiles/{profile_id}/attributes",
    response_model=AttributesOut,
    summary="Set or remove explicit attributes (JSON merge patch); re-derives the grade",
    responses={
        404: {"description": "No profile with this id"},
        409: {"description": "The profile was merged (the detail names the survivor)"},
    },
    **_with_body(_PATCH_BODY, "integration"),
)
def patch_attributes(
    profile_id: Annotated[str, Path(description="the profile id")],
    engine: Annotated[Engine, Depends(get_engine)],
    body: Annotated[dict[str, Any], Depends(patch_body)],
) -> dict[str, Any]:
    """Names the active rules derive are refused (422), as are values of the wrong type
    for a name the rules declare. The grade, crossings and stage are re-derived before
    the answer; ``fired`` lists the thresholds that now fire (their webhooks are queued)."""
    if len(profile_id) > ID_MAX or "\x00" in profile_id:
        raise ApiError(404, "no profile with this id", type_=problem_type("not-found"))
    now: datetime = utcnow()
    try:
        with write_transaction(engine) as conn:
            written = set_attributes(conn, {profile_id: body}, active_rules(conn), now)
            row = conn.execute(
                select(
                    profiles.c.derived_attributes, profiles.c.grade, profiles.c.lifecycle_stage
                ).where(profiles.c.id == profile_id)
            ).one()
    except UnknownProfile:
        raise ApiError(404, "no profile with this id", type_=problem_type("not-found")) from None
    except ProfileMerged as err:
        raise ApiError(409, str(err), type_=problem_type("profile-merged")) from None
    except AttributeProblems as err:
        raise ApiError(
            422,
            f"invalid attributes: {safe_text(str(err), 500)}",
            type_=problem_type("invalid-attributes"),
            errors=[
                {"location": "body", "field": safe_text(p.name), "detail": p.reason,
                 "type": "invalid_attribute"}
                for p in err.problems
            ],
        ) from None  # fmt: skip
    return {
        "id": profile_id,
        "attributes": written.attributes[profile_id],
        "derived_attributes": row.derived_attributes or {},
        "grade": row.grade,
        "lifecycle_stage": row.lifecycle_stage,
        "fired": _fired(written),
    }


@router.post(
    "/profiles/attributes:import",
    response_model=ImportOut,
    summary="Import explicit attributes from CSV, all or nothing",
    **_with_body(_CSV_BODY, "integration"),
)
def import_attributes(
    engine: Annotated[Engine, Depends(get_engine)],
    text: Annotated[str, Depends(csv_body)],
) -> dict[str, Any]:
    """Every row is checked first; one bad line and nothing is written: the 422 lists
    every bad line (``field`` is ``line N: column``). Bodies are limited to 1 MiB; use
    ``python main.py central import-attributes FILE`` for bigger files."""
    try:
        result = import_csv_text(engine, text, utcnow())
    except ImportFailed as err:
        raise refused(err) from None
    return {
        "rows": result.rows,
        "profiles": result.profiles,
        "created": result.created,
        "fired": _fired(result.written),
    }
