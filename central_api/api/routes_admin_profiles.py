"""Admin operations on profiles: explicit merge, undo, and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from central_api.domain.identity.erasure import erase_profile
from central_api.domain.identity.identity import IdentityError, UnknownProfile, merge, undo_merge
from central_api.domain.profiles.profile_effects import recompute_all
from central_api.domain.scoring.active_rules import active_rules
from central_api.store.db import write_transaction

from .auth import get_engine, guarded
from .errors import ApiError, problem_type

router = APIRouter(prefix="/api/v1", tags=["profiles"])

ProfileId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile_ids: list[ProfileId] = Field(min_length=2, max_length=2)
    reason: str = Field(min_length=1, max_length=500)


class MergeOut(BaseModel):
    merge_id: int
    survivor: str
    merged: str


class UndoOut(BaseModel):
    survivor: str
    restored: str


class EraseOut(BaseModel):
    erased: bool = True
    #: rows removed per table; the erasure record keeps only these counts
    counts: dict[str, int]


def _problem(err: IdentityError) -> ApiError:
    if isinstance(err, UnknownProfile) or str(err).startswith("no merge"):
        return ApiError(404, str(err), type_=problem_type("not-found"))
    return ApiError(409, str(err), type_=problem_type("conflict"))


@router.post(
    "/profiles/merge",
    response_model=MergeOut,
    summary="Merge two profiles on request (the older survives; undoable)",
    responses={
        404: {"description": "A profile named does not exist"},
        409: {"description": "The profiles cannot be merged (the same, merged or erased)"},
    },
    **guarded("admin"),
)
def post_merge(body: MergeIn, engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    now = datetime.now(UTC)
    try:
        with write_transaction(engine) as conn:
            out = merge(conn, body.profile_ids[0], body.profile_ids[1], body.reason, now)
            recompute_all(conn, [out["survivor"], out["merged"]], active_rules(conn), now)
    except IdentityError as err:
        raise _problem(err) from None
    return out


@router.post(
    "/merges/{merge_id}/undo",
    response_model=UndoOut,
    summary="Undo a merge: the merged profile gets its history back",
    responses={409: {"description": "The merge cannot be undone (undone already)"}},
    **guarded("admin"),
)
def post_undo(merge_id: int, engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    now = datetime.now(UTC)
    try:
        with write_transaction(engine) as conn:
            out = undo_merge(conn, merge_id, now)
            recompute_all(conn, [out["survivor"], out["restored"]], active_rules(conn), now)
    except IdentityError as err:
        raise _problem(err) from None
    return out


@router.delete(
    "/profiles/{profile_id}",
    response_model=EraseOut,
    summary="Erase a profile and everything that names it",
    **guarded("admin"),
)
def delete_profile(
    profile_id: ProfileId, engine: Annotated[Engine, Depends(get_engine)]
) -> dict[str, Any]:
    try:
        with write_transaction(engine) as conn:
            counts = erase_profile(conn, profile_id, "api", datetime.now(UTC))
    except IdentityError as err:
        raise _problem(err) from None
    return {"erased": True, "counts": counts}
