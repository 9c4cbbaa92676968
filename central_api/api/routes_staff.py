"""A store's staff, for admins: set a member's name and PIN, remove them, list them.

The PIN is checked (6 to 12 digits, not one repeated digit or a run) and stored only as
its scrypt hash, which goes to the store's kiosks with its data: staff unlock there
offline. Reads never return a hash.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from central_api.domain.campaigns.model import LINE_PATTERN
from central_api.domain.inventory.stores import UnknownStore
from central_api.domain.staff.staff import (
    MAX_NAME,
    UnknownStaff,
    list_members,
    remove_member,
    set_member,
)
from central_api.store.db import write_transaction
from edge_sync.protocol import utcnow
from edge_sync.protocol.ids import IDENT_PATTERN
from edge_sync.protocol.pins import MAX_DIGITS, MIN_DIGITS, BadPin

from .auth import get_engine, guarded
from .errors import ApiError, problem_type
from .pagination import Page, PageParams, decode_cursor, encode_cursor, page_in_memory, page_params
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["staff"])

StoreId = Annotated[
    str, Path(pattern=IDENT_PATTERN, description="the store's id", examples=["s001"])
]
StaffId = Annotated[
    str, Path(pattern=IDENT_PATTERN, description="the member's id", examples=["anna-k"])
]


class StaffIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=LINE_PATTERN, examples=["Anna K."])
    pin: str = Field(
        min_length=MIN_DIGITS, max_length=MAX_DIGITS, pattern=r"^[0-9]+$",
        description="6 to 12 digits, not one repeated digit or a run; stored only hashed",
        examples=["480215"],
    )  # fmt: skip


class StaffOut(BaseModel):
    store_id: str
    staff_id: str
    name: str
    version: int = Field(description="the staff counter at the member's last change")
    updated_at: Timestamp


class StaffSet(StaffOut):
    changed: bool = Field(description="false: the member already had this name and PIN")


def _unknown_store(store_id: str) -> ApiError:
    return ApiError(404, f"no store {store_id}", type_=problem_type("not-found"))


def _invalid(field: str, detail: str) -> ApiError:
    return ApiError(
        422, f"{field}: {detail}", type_=problem_type("invalid-staff"),
        errors=[{"location": "body", "field": field, "pointer": f"#/{field}", "detail": detail,
                 "type": "invalid"}],
    )  # fmt: skip


def _changed(request: Request) -> None:
    """Tell this process's feed publisher: the store's data changed."""
    publisher = getattr(request.app.state, "store_feed", None)
    if publisher is not None:
        publisher.changed()


def _out(m: Any) -> dict[str, Any]:
    return {"store_id": m.store_id, "staff_id": m.staff_id, "name": m.name,
            "version": m.version, "updated_at": m.updated_at}  # fmt: skip


@router.put(
    "/stores/{store_id}/staff/{staff_id}",
    response_model=StaffSet,
    summary="Create or change a staff member (name and PIN)",
    responses={404: {"description": "No such store"}},
    **guarded("admin"),
)
def put_staff(
    store_id: StoreId,
    staff_id: StaffId,
    body: StaffIn,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
) -> dict[str, Any]:
    """The member's kiosks get the change with the store's next feed version (seconds)."""
    try:
        with write_transaction(engine) as conn:
            member, changed = set_member(conn, store_id, staff_id, body.name, body.pin, utcnow())
    except UnknownStore:
        raise _unknown_store(store_id) from None
    except BadPin as err:
        raise _invalid("pin", str(err)) from None
    except ValueError as err:
        raise _invalid("name", str(err)) from None
    if changed:
        _changed(request)
    return {**_out(member), "changed": changed}


@router.delete(
    "/stores/{store_id}/staff/{staff_id}",
    status_code=204,
    summary="Remove a staff member",
    responses={404: {"description": "No such store or member"}},
    **guarded("admin"),
)
def delete_staff(
    store_id: StoreId,
    staff_id: StaffId,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
) -> Response:
    """Their PIN stops working at the store's kiosks with its next feed version."""
    try:
        with write_transaction(engine) as conn:
            remove_member(conn, store_id, staff_id, utcnow())
    except UnknownStaff as err:
        raise ApiError(404, str(err), type_=problem_type("not-found")) from None
    _changed(request)
    return Response(status_code=204)


@router.get(
    "/stores/{store_id}/staff",
    response_model=Page[StaffOut],
    summary="List a store's staff (never their PIN hashes)",
    responses={404: {"description": "No such store"}},
    **guarded("admin"),
)
def get_staff(
    store_id: StoreId,
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    """By staff id."""
    listing = f"staff:{store_id}"  # (a cursor is good for its store's list only)
    after = decode_cursor(page.cursor, listing, (str,)) if page.cursor else None
    try:
        with engine.connect() as conn:
            rows = [_out(m) for m in list_members(conn, store_id)]
    except UnknownStore:
        raise _unknown_store(store_id) from None
    items, last = page_in_memory(rows, lambda m: (m["staff_id"],), after, page.limit)
    return {"items": items, "limit": page.limit,
            "next": encode_cursor(listing, last) if last else None}  # fmt: skip
