"""``/api/v1/webhooks``: subscribe a URL to events, list and delete, read the delivery log.

Each delivery is a POST of the event as JSON with ``X-Omk-Signature: sha256=<hex>`` (the
HMAC-SHA256 of ``"<X-Omk-Timestamp>." + body`` keyed by the webhook's secret),
``X-Omk-Timestamp`` (Unix seconds), ``X-Omk-Delivery`` (the delivery id) and
``X-Omk-Event``. Receivers answer 2xx; anything else is retried with backoff.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine

from central_api.domain.webhooks import webhooks as hooks
from central_api.store.db import write_transaction
from central_api.store.sql import BIGINT_MAX

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
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

EventType = Literal[
    "threshold.crossed", "order.ready", "order.picked_up", "order.no_show", "order.conflict"
]
assert set(get_args(EventType)) == set(hooks.EVENT_TYPES)
WebhookIdPath = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="the webhook's id")]
MAX_URL_CHARS = 2000


_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
#: what a webhook URL may be, as OpenAPI states it: http(s), a host name or IPv4 address,
#: an optional port, and printable ASCII after it (other characters percent-encoded)
URL_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:{_PORT})?([/?#][!-~]*)?$"
_URL_RE = re.compile(URL_PATTERN)


class CreateWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=MAX_URL_CHARS,
        examples=["https://crm.example.com/omk-hook"],
        json_schema_extra={"pattern": URL_PATTERN},
    )
    events: list[EventType] = Field(
        default=["threshold.crossed"], min_length=1, max_length=len(hooks.EVENT_TYPES) * 4
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if _URL_RE.match(v):
            return v
        # the same rule as the pattern, said for the case at hand
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v):
            raise ValueError("must not contain spaces or control characters")
        parts = urlsplit(v)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL with a host")
        if "@" in parts.netloc:
            raise ValueError("must not carry credentials (the signature authenticates central)")
        raise ValueError(
            "must be http(s)://host[:port][/path]: a host name or IPv4 address, a port up to "
            "65535, and ASCII only (percent-encode other characters)"
        )


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: Timestamp


class NewWebhookOut(WebhookOut):
    secret: str = Field(
        description="the signing secret; shown only in this response",
        examples=["whsec_Jq3…"],
    )


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    event_type: str
    event_key: str = Field(examples=["threshold:p-1:mql:0192…"])
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None
    created_at: Timestamp
    delivered_at: Timestamp | None
    payload: dict[str, Any]


def _out(w: hooks.Webhook) -> dict[str, Any]:
    return {
        "id": w.id,
        "url": w.url,
        "events": w.events,
        "active": w.active,
        "created_at": w.created_at,
    }


def _position(cursor: str | None, listing: str) -> int | None:
    if cursor is None:
        return None
    (value,) = decode_cursor(cursor, listing, (int,))
    if not 1 <= value <= BIGINT_MAX:
        raise invalid_cursor()
    return int(value)


def _not_found(err: hooks.WebhookNotFound) -> ApiError:
    return ApiError(404, str(err), type_=problem_type("not-found"))


@router.post(
    "/webhooks",
    response_model=NewWebhookOut,
    status_code=201,
    summary="Subscribe a URL to events (the response is the only place the secret is shown)",
    **guarded("admin"),
)
def create_webhook(
    body: CreateWebhook, engine: Annotated[Engine, Depends(get_engine)], response: Response
) -> dict[str, Any]:
    """Events from now on are delivered; earlier ones are not replayed."""
    with write_transaction(engine) as conn:
        hook, secret = hooks.create_webhook(conn, body.url, body.events, datetime.now(UTC))
    response.headers["Location"] = f"/api/v1/webhooks/{hook.id}"
    response.headers["Cache-Control"] = "no-store"  # the body holds a secret
    return {**_out(hook), "secret": secret}


@router.get(
    "/webhooks", response_model=Page[WebhookOut], summary="List webhooks", **guarded("admin")
)
def list_webhooks(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    after = _position(page.cursor, "webhooks")
    with engine.connect() as conn:
        rows = hooks.list_webhooks(conn, page.limit + 1, after)
    items = rows[: page.limit]
    nxt = encode_cursor("webhooks", (items[-1].id,)) if len(rows) > page.limit else None
    return {"items": [_out(w) for w in items], "limit": page.limit, "next": nxt}


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a webhook with its secret and delivery log (pending ones are not sent)",
    responses={404: {"description": "No webhook with this id"}},
    **guarded("admin"),
)
def delete_webhook(
    webhook_id: WebhookIdPath, engine: Annotated[Engine, Depends(get_engine)]
) -> Response:
    try:
        with write_transaction(engine) as conn:
            hooks.delete_webhook(conn, webhook_id)
    except hooks.WebhookNotFound as err:
        raise _not_found(err) from None
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="A webhook's delivery log, newest first",
    responses={404: {"description": "No webhook with this id"}},
    **guarded("admin"),
)
def list_deliveries(
    webhook_id: WebhookIdPath,
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(description="only this status")
    ] = None,
) -> dict[str, Any]:
    listing = f"deliveries:{webhook_id}:{status or ''}"
    before = _position(page.cursor, listing)
    try:
        with engine.connect() as conn:
            hooks.get_webhook(conn, webhook_id)
            rows = hooks.list_deliveries(conn, webhook_id, page.limit + 1, before, status)
    except hooks.WebhookNotFound as err:
        raise _not_found(err) from None
    items = rows[: page.limit]
    nxt = encode_cursor(listing, (items[-1].id,)) if len(rows) > page.limit else None
    keep = DeliveryOut.model_fields
    return {
        "items": [{k: v for k, v in r._mapping.items() if k in keep} for r in items],
        "limit": page.limit,
        "next": nxt,
    }
