"""``/api/v1/orders``: click-and-collect orders from the e-commerce system; the pickup
code for the "ready" email; the conflicts staff must look at."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from central_api.codes import qr_image
from central_api.domain.orders import records
from central_api.domain.orders.announce import code_links, pickup_of
from central_api.domain.orders.model import (
    ORDER_ID_PATTERN,
    STATES,
    NoSigningKey,
    OrderError,
    OrderIn,
)
from central_api.domain.scoring.active_rules import active_rules
from central_api.store.db import write_transaction
from edge_sync.protocol import utcnow
from edge_sync.protocol.ids import IDENT_PATTERN

from .auth import Principal, authenticate, get_engine, guarded
from .errors import ApiError, problem_type
from .pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["orders"])

OrderIdPath = Annotated[
    str, Path(pattern=ORDER_ID_PATTERN, description="central's order id", examples=["o-7k2m9q4x"])
]
State = Literal["placed", "ready_for_pickup", "picked_up", "no_show", "cancelled"]
assert tuple(State.__args__) == STATES  # type: ignore[attr-defined]


class LineOut(BaseModel):
    sku: str
    name: str | None = None
    quantity: int
    unit_price: float


class PickupCode(BaseModel):
    url: str = Field(description="the code's URL, as the QR code holds it")
    token_hash: str
    valid_until: str | None = Field(description="the last day (UTC) the code verifies")
    png: str = Field(description="path of the QR code as PNG (this API, same key)")
    svg: str = Field(description="path of the QR code as SVG")


class Pickup(BaseModel):
    picked_up_at: Timestamp = Field(description="the store's time of the handover")
    staff_id: str
    device_id: str
    event_id: str


class OrderOut(BaseModel):
    id: str
    external_id: str
    store_id: str
    profile_id: str = Field(description="the profile that placed it")
    customer_initials: str | None = Field(
        default=None, description="as sent with the order (NFC, stripped); for the staff screen"
    )
    state: State
    revision: int = Field(description="1 when placed, + 1 per change")
    lines: list[LineOut]
    items: int
    value: float
    placed_at: Timestamp
    ready_at: Timestamp | None
    state_at: Timestamp = Field(description="when the state last changed (store time for a pickup)")
    pickup_code: PickupCode | None = Field(description="issued by ready")
    pickup: Pickup | None = Field(
        description="the handover: the earliest confirmation by store time"
    )


class HistoryRow(BaseModel):
    state: str = Field(description="the state it went to, or refused / conflict (unchanged)")
    at: Timestamp = Field(description="when it happened (the store's time for a device's report)")
    recorded_at: Timestamp
    by: str = Field(description="an API key id, a staff id, or sweeper")
    source: str = Field(examples=["api", "device:s042-k1", "sweeper"])
    event_id: str | None
    detail: dict[str, Any] | None


class OrderDetail(OrderOut):
    history: list[HistoryRow]


class ConflictOut(BaseModel):
    id: int
    order_id: str
    kind: Literal["double_pickup", "unknown_order", "order_cancelled", "wrong_store", "wrong_code"]
    store_id: str = Field(description="the store of the confirmation that is not the handover")
    message: str = Field(description="what happened and what to check, for staff")
    event_id: str = Field(description="the confirmation that is not the handover")
    winner_event_id: str | None = Field(description="for double_pickup: the handover")
    detail: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp


def order_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "external_id": row.external_id, "store_id": row.store_id,
        "profile_id": row.profile_id, "customer_initials": row.customer_initials,
        "state": row.state, "revision": row.revision,
        "lines": row.lines, "items": row.items, "value": row.value, "placed_at": row.placed_at,
        "ready_at": row.ready_at, "state_at": row.state_at, "pickup_code": code_links(row),
        "pickup": _pickup(row),
    }  # fmt: skip


def _pickup(row: Any) -> dict[str, Any] | None:
    p = pickup_of(row)
    return None if p is None else {**p, "picked_up_at": row.picked_up_at}


def _problem(err: OrderError) -> ApiError:
    return ApiError(err.status, str(err), type_=problem_type(err.kind))


def _issuer(request: Request) -> records.CodeIssuer:
    issuer = getattr(request.app.state, "order_codes", None)
    if issuer is None:
        raise _problem(
            NoSigningKey("this central process has no QR signing key to make pickup codes")
        )
    return issuer


def _pushed(request: Request) -> None:
    publisher = getattr(request.app.state, "pickup_push", None)
    if publisher is not None:
        publisher.changed()


_NOT_FOUND = {404: {"description": "No order with this id"}}
_STATE = {409: {"description": "The order's state does not allow this (the message says why)"}}


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    summary="Place a click-and-collect order (idempotent by external_id)",
    responses={
        200: {"description": "The same body was placed before: that order", "model": OrderOut},
        409: {
            "description": "external_id was placed with another body (the fields that "
            "differ are named), the order is worth too much, or its ids do not fit a "
            "pickup code"
        },
    },
    **guarded("integration"),
)
def place_order(
    body: OrderIn,
    request: Request,
    response: Response,
    engine: Annotated[Engine, Depends(get_engine)],
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """The order belongs to the profile its `customer_id` (else `email_sha256`) names; an
    online `order.placed` is recorded for it, so journeys and campaign attribution count
    it. Send the same body again (a retry) and get the same order with 200."""
    issuer = getattr(request.app.state, "order_codes", None)
    now = utcnow()
    try:
        with engine.connect() as conn:
            rules = active_rules(conn)
        with write_transaction(engine) as conn:
            row, made = records.place(
                conn, body, principal.key_id, now, rules, issuer.fits if issuer else None
            )
    except OrderError as err:
        raise _problem(err) from None
    response.status_code = 201 if made else 200
    response.headers["Location"] = f"/api/v1/orders/{row.id}"
    return order_out(row)


@router.get(
    "/orders",
    response_model=Page[OrderOut],
    summary="List orders by id",
    **guarded("integration", "marketer"),
)
def list_orders(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
    store: Annotated[str | None, Query(pattern=IDENT_PATTERN, description="pickup store")] = None,
    state: Annotated[State | None, Query(description="only orders in this state")] = None,
) -> dict[str, Any]:
    listing = f"orders:{store or ''}:{state or ''}"
    after = decode_cursor(page.cursor, listing, (str,))[0] if page.cursor else None
    with engine.connect() as conn:
        rows, more = records.page(conn, after, page.limit, store, state)
    nxt = encode_cursor(listing, (rows[-1].id,)) if more else None
    return {"items": [order_out(r) for r in rows], "limit": page.limit, "next": nxt}


@router.get(
    "/orders/conflicts",
    response_model=Page[ConflictOut],
    summary="Pickup confirmations that are not the handover, for staff to check",
    **guarded("integration", "marketer"),
)
def list_conflicts(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
    store: Annotated[str | None, Query(pattern=IDENT_PATTERN, description="the store")] = None,
    order_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    ] = None,
) -> dict[str, Any]:
    listing = f"order-conflicts:{store or ''}:{order_id or ''}"
    after = decode_cursor(page.cursor, listing, (int,))[0] if page.cursor else None
    with engine.connect() as conn:
        rows, more = records.conflicts_page(conn, after, page.limit, store, order_id)
    nxt = encode_cursor(listing, (rows[-1].id,)) if more else None
    return {"items": [dict(r._mapping) for r in rows], "limit": page.limit, "next": nxt}


@router.get(
    "/orders/{order_id}",
    response_model=OrderDetail,
    summary="One order with its history",
    responses=_NOT_FOUND,
    **guarded("integration", "marketer"),
)
def get_order(
    order_id: OrderIdPath, engine: Annotated[Engine, Depends(get_engine)]
) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            row = records.get(conn, order_id)
            hist = records.history(conn, order_id)
    except OrderError as err:
        raise _problem(err) from None
    return {**order_out(row), "history": [dict(h._mapping) for h in hist]}


@router.post(
    "/orders/{order_id}/ready",
    response_model=OrderOut,
    summary="Ready for pickup: issue the one-time pickup code, tell the store",
    responses={**_NOT_FOUND, **_STATE, 503: {"description": "No signing key in this process"}},
    **guarded("integration"),
)
def ready_order(
    order_id: OrderIdPath,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """`pickup_code` holds the code's URL, its token hash and the paths of its QR code
    (PNG, SVG) for the "ready" email; `order.ready` announces the same."""
    issuer = _issuer(request)
    try:
        with write_transaction(engine) as conn:
            row = records.ready(conn, order_id, issuer, principal.key_id, utcnow())
    except OrderError as err:
        raise _problem(err) from None
    _pushed(request)
    return order_out(row)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    summary="Cancel an order that was not collected; its pickup code stops working",
    responses={**_NOT_FOUND, **_STATE},
    **guarded("integration"),
)
def cancel_order(
    order_id: OrderIdPath,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    try:
        with write_transaction(engine) as conn:
            row = records.cancel(conn, order_id, principal.key_id, utcnow())
    except OrderError as err:
        raise _problem(err) from None
    _pushed(request)
    return order_out(row)


_NO_CODE = {404: {"description": "No such order, or it has no pickup code (not ready yet)"}}


def _code_symbol(engine: Engine, order_id: str) -> qr_image.Symbol:
    with engine.connect() as conn:
        try:
            row = records.get(conn, order_id)
        except OrderError as err:
            raise _problem(err) from None
    if row.code_text is None:
        raise ApiError(404, f"order {order_id} has no pickup code yet (it is {row.state})",
                       type_=problem_type("not-found"))  # fmt: skip
    return qr_image.symbol(row.code_text)


class PngResponse(Response):
    media_type = "image/png"


class SvgResponse(Response):
    media_type = "image/svg+xml"


@router.get(
    "/orders/{order_id}/pickup-code.png",
    response_class=PngResponse,
    responses={
        **_NO_CODE,
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the pickup code's QR code",
        },
    },
    summary="The pickup code's QR code as PNG",
    **guarded("integration"),
)
def pickup_code_png(
    order_id: OrderIdPath, engine: Annotated[Engine, Depends(get_engine)]
) -> PngResponse:
    return PngResponse(qr_image.png(_code_symbol(engine, order_id)))


@router.get(
    "/orders/{order_id}/pickup-code.svg",
    response_class=SvgResponse,
    responses={
        **_NO_CODE,
        200: {
            "content": {"image/svg+xml": {"schema": {"type": "string"}}},
            "description": "the pickup code's QR code",
        },
    },
    summary="The pickup code's QR code as SVG",
    **guarded("integration"),
)
def pickup_code_svg(
    order_id: OrderIdPath, engine: Annotated[Engine, Depends(get_engine)]
) -> SvgResponse:
    return SvgResponse(qr_image.svg(_code_symbol(engine, order_id)))
