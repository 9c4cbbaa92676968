"""``/api/v1/campaigns``: define a campaign and its offer once; every store it runs in
gets it (``domain.campaigns.push``). Marketers and admins create, change and end them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from central_api.domain.campaigns import records
from central_api.domain.campaigns.model import (
    CAMPAIGN_ID_PATTERN,
    AssetVisual,
    CampaignIn,
    CampaignPatch,
    Channel,
    ImageVisual,
)
from central_api.store.db import write_transaction
from edge_sync.protocol import utcnow
from edge_sync.protocol.ids import IDENT_PATTERN

from .auth import Principal, authenticate, get_engine, guarded
from .errors import ApiError, problem_type
from .pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["campaigns"])

CampaignIdPath = Annotated[
    str, Path(pattern=CAMPAIGN_ID_PATTERN, description="the campaign's id", examples=["cmp-1"])
]
_LISTING = "campaigns"


class OfferOut(BaseModel):
    text: dict[str, str] = Field(description="the offer per language (en and de always)")
    visual: ImageVisual | AssetVisual
    valid_from: date
    valid_until: date


class CampaignOut(BaseModel):
    id: str
    name: str
    channel: Channel
    starts_on: date
    ends_on: date
    stores: Literal["all"] | list[str]
    landing_url: str
    offer: OfferOut
    status: Literal["scheduled", "running", "ended"] = Field(
        description="today (UTC): before starts_on, through ends_on, or after it or ended"
    )
    created_at: Timestamp
    updated_at: Timestamp
    ended_at: Timestamp | None = Field(description="when it was ended early")
    revision: int = Field(description="1 when created, + 1 per change")


def campaign_out(c: records.Campaign) -> dict[str, Any]:
    return c.as_dict(records.today_of(utcnow()))


def _pushed(request: Request) -> None:
    """Tell this process's publisher (if it runs one) to push the stores' lists now."""
    publisher = getattr(request.app.state, "campaign_push", None)
    if publisher is not None:
        publisher.changed()


def _problem(err: records.CampaignError) -> ApiError:
    if isinstance(err, records.CampaignNotFound):
        return ApiError(404, str(err), type_=problem_type("not-found"))
    return ApiError(409, str(err), type_=problem_type("campaign-conflict"))


_CONFLICT = {
    409: {
        "description": "The id is taken, the campaign was ended, the dates would cross, or "
        "a store would hold more campaigns than its list carries"
    }
}
_NOT_FOUND = {404: {"description": "No campaign with this id"}}


@router.post(
    "/campaigns",
    response_model=CampaignOut,
    status_code=201,
    summary="Create a campaign; its stores get it within seconds",
    responses=_CONFLICT,
    **guarded("marketer"),
)
def create_campaign(
    body: CampaignIn,
    request: Request,
    response: Response,
    engine: Annotated[Engine, Depends(get_engine)],
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    try:
        with write_transaction(engine) as conn:
            c = records.create(conn, body, utcnow(), principal.key_id)
    except records.CampaignError as err:
        raise _problem(err) from None
    _pushed(request)
    response.headers["Location"] = f"/api/v1/campaigns/{c.id}"
    return campaign_out(c)


@router.get(
    "/campaigns",
    response_model=Page[CampaignOut],
    summary="List campaigns by id",
    **guarded("marketer"),
)
def list_campaigns(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
    store: Annotated[
        str | None, Query(pattern=IDENT_PATTERN, description="only campaigns that reach it")
    ] = None,
) -> dict[str, Any]:
    after = decode_cursor(page.cursor, _LISTING, (str,))[0] if page.cursor else None
    with engine.connect() as conn:
        items, more = records.page(conn, after, page.limit, store)
    nxt = encode_cursor(_LISTING, (items[-1].id,)) if more else None
    return {"items": [campaign_out(c) for c in items], "limit": page.limit, "next": nxt}


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    summary="One campaign",
    responses=_NOT_FOUND,
    **guarded("marketer"),
)
def get_campaign(
    campaign_id: CampaignIdPath, engine: Annotated[Engine, Depends(get_engine)]
) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            return campaign_out(records.get(conn, campaign_id))
    except records.CampaignError as err:
        raise _problem(err) from None


@router.patch(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    summary="Change a campaign: the fields given replace the stored ones",
    responses={**_NOT_FOUND, **_CONFLICT},
    **guarded("marketer"),
)
def change_campaign(
    campaign_id: CampaignIdPath,
    body: CampaignPatch,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """A field left out (or null) stays as it is; `offer` and `stores` are replaced
    whole. A change that changes nothing writes nothing (same `revision`)."""
    try:
        with write_transaction(engine) as conn:
            c = records.change(conn, campaign_id, body, utcnow(), principal.key_id)
    except records.CampaignError as err:
        raise _problem(err) from None
    _pushed(request)
    return campaign_out(c)


@router.post(
    "/campaigns/{campaign_id}/end",
    response_model=CampaignOut,
    summary="End a campaign now: it leaves every store's list",
    responses={**_NOT_FOUND, 409: {"description": "The campaign was ended already"}},
    **guarded("marketer"),
)
def end_campaign(
    campaign_id: CampaignIdPath,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    try:
        with write_transaction(engine) as conn:
            c = records.end(conn, campaign_id, utcnow(), principal.key_id)
    except records.CampaignError as err:
        raise _problem(err) from None
    _pushed(request)
    return campaign_out(c)
