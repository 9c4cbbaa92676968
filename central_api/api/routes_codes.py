"""``/api/v1/profiles/{id}/code``: a profile's check-in code for an email or SMS, as JSON
with its URL, or as the QR image itself (PNG, SVG); ``/api/v1/campaigns/{id}/opens``:
how often a campaign's codes were opened on phones.

Integrations (the email service) and marketers (previewing an email) may read codes.
A code is issued whatever the profile's consent says: it only lets the customer name
themselves at a kiosk, and what central does with the visit follows their consent
(docs/decisions.md, "The /q/ page and check-in codes").
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, select

from central_api.codes import qr_image
from central_api.codes.checkin import DEFAULT_MONTHS, MAX_MONTHS, AllRevoked, check_in_code
from central_api.domain.campaigns import records
from central_api.domain.code_opens.report import campaign_opens
from central_api.domain.identity.identity import live_profile
from central_api.domain.tokens.keystore import KeyStore, KeyStoreError
from central_api.store.profile_tables import profiles
from edge_sync.protocol import utcnow
from edge_sync.protocol.tokens import Signer, Token, TooLong

from .auth import get_engine, guarded
from .errors import ApiError, problem_type
from .routes_campaigns import CampaignIdPath

router = APIRouter(prefix="/api/v1", tags=["codes"])

ProfileId = Annotated[str, Path(description="the profile id", pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Months = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_MONTHS,
        description="how long the code holds: from the first day of this month (UTC) "
        "through the last day of the month this many months later",
    ),
]
#: the code changes at most once a month; a revocation changes it at once, so clients
#: keep it for an hour at most, and only their own cache (it names a customer's profile)
CACHE = "private, max-age=3600"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such profile, it was erased, or it was merged (see detail)"},
    409: {"description": "Every code of the profile is revoked, or its id is too long for "
          "a code with this central's public host"},
    503: {"description": "The database is unavailable, or central cannot sign codes now"},
}  # fmt: skip
_IMAGE = {"description": "The QR code, error correction M, four modules of quiet zone"}


class CheckInCode(BaseModel):
    profile_id: str
    url: str = Field(
        description="what the QR code holds: HTTPS://HOST/Q/TOKEN, upper case",
        examples=["HTTPS://SHOP.EXAMPLE.COM/Q/CEAQAAAB…"],
    )
    token_hash: str = Field(description="the code's identity in events (32 hex digits)")
    not_before: str = Field(description="first valid day (UTC), YYYY-MM-DD")
    not_after: str = Field(description="last valid day (UTC, inclusive), YYYY-MM-DD")
    png_url: str = Field(description="the same code as a PNG image (this API, same key)")
    svg_url: str = Field(description="the same code as an SVG image (this API, same key)")


def _signer(request: Request) -> Signer:
    keys: KeyStore | None = getattr(request.app.state, "code_keys", None)
    try:
        if keys is None:
            raise KeyStoreError("this central process has no signing keys configured")
        return keys.signer()
    except KeyStoreError as err:
        raise ApiError(
            503, f"cannot sign codes now: {err}", type_=problem_type("codes-unavailable")
        ) from None


def _active(conn: Connection, profile_id: str) -> str:
    row = conn.execute(select(profiles.c.status).where(profiles.c.id == profile_id)).first()
    if row is None:
        raise ApiError(
            404,
            f"no profile {profile_id}: never created, or erased",
            type_=problem_type("not-found"),
        )
    if row.status != "active":
        raise ApiError(
            404,
            f"profile {profile_id} was merged into {live_profile(conn, profile_id)}; ask for "
            "that profile's code",
            type_=problem_type("profile-merged"),
        )
    return profile_id


def _code(request: Request, engine: Engine, profile_id: str, months: int) -> tuple[Signer, Token]:
    with engine.connect() as conn:
        _active(conn, profile_id)
        signer = _signer(request)
        try:
            return signer, check_in_code(conn, signer, profile_id, utcnow().date(), months)
        except AllRevoked as err:
            raise ApiError(409, str(err), type_=problem_type("code-revoked")) from None
        except TooLong as err:
            raise ApiError(409, str(err), type_=problem_type("code-too-long")) from None


@router.get(
    "/profiles/{profile_id}/code",
    response_model=CheckInCode,
    summary="A profile's check-in code (the same all month), with links to its images",
    responses=_NOT_FOUND,
    **guarded("integration", "marketer"),
)
def get_code(
    profile_id: ProfileId,
    request: Request,
    response: Response,
    engine: Annotated[Engine, Depends(get_engine)],
    months: Months = DEFAULT_MONTHS,
) -> dict[str, Any]:
    """The code holds ids only (the profile id, key id, validity), never personal data."""
    signer, token = _code(request, engine, profile_id, months)
    response.headers["Cache-Control"] = CACHE
    base = f"/api/v1/profiles/{profile_id}/code"
    query = "" if months == DEFAULT_MONTHS else f"?months={months}"
    return {
        "profile_id": profile_id,
        "url": signer.url(token),
        "token_hash": token.token_hash,
        "not_before": token.fields.not_before.isoformat(),
        "not_after": token.fields.not_after.isoformat(),
        "png_url": f"{base}.png{query}",
        "svg_url": f"{base}.svg{query}",
    }


@router.get(
    "/profiles/{profile_id}/code.png",
    response_class=Response,
    summary="A profile's check-in code as a PNG image",
    responses={
        200: {
            **_IMAGE,
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_NOT_FOUND,
    },
    **guarded("integration", "marketer"),
)
def get_code_png(
    profile_id: ProfileId,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    months: Months = DEFAULT_MONTHS,
) -> Response:
    signer, token = _code(request, engine, profile_id, months)
    image = qr_image.png(qr_image.symbol(signer.url(token)))
    return Response(image, media_type="image/png", headers={"Cache-Control": CACHE})


@router.get(
    "/profiles/{profile_id}/code.svg",
    response_class=Response,
    summary="A profile's check-in code as an SVG image",
    responses={
        200: {**_IMAGE, "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
        **_NOT_FOUND,
    },
    **guarded("integration", "marketer"),
)
def get_code_svg(
    profile_id: ProfileId,
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    months: Months = DEFAULT_MONTHS,
) -> Response:
    signer, token = _code(request, engine, profile_id, months)
    image = qr_image.svg(qr_image.symbol(signer.url(token)))
    return Response(image, media_type="image/svg+xml", headers={"Cache-Control": CACHE})


class OpensDay(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD")
    token_kind: str = Field(description="c (generic campaign code) or r (a recipient's)")
    opens: int = Field(description="codes opened that day (each code counts once a day)")


class OpensTotals(BaseModel):
    opens: int = Field(description="the sum of the days' opens")
    codes: int = Field(description="distinct codes ever opened")
    recipients: int = Field(description="distinct recipients whose r code was opened")


class CampaignOpens(BaseModel):
    campaign_id: str
    days: list[OpensDay]
    totals: OpensTotals


@router.get(
    "/campaigns/{campaign_id}/opens",
    response_model=CampaignOpens,
    summary="How often the campaign's codes were opened on phones, per UTC day",
    responses={404: {"description": "No campaign with this id"}},
    tags=["campaigns"],
    **guarded("marketer"),
)
def get_campaign_opens(
    campaign_id: CampaignIdPath, engine: Annotated[Engine, Depends(get_engine)]
) -> dict[str, Any]:
    """Counted from the `qr.opened` events of `GET /q/{token}`: anonymous, no consent
    needed. Opens are recorded only while the campaign runs."""
    with engine.connect() as conn:
        try:
            records.get(conn, campaign_id)
        except records.CampaignNotFound as err:
            raise ApiError(404, str(err), type_=problem_type("not-found")) from None
        return campaign_opens(conn, campaign_id)
