"""``/api/v1/keys``: list, create and revoke API keys (admin only). A ``device`` key is
created with the store it is bound to (``store_id``) and, optionally, its ``device_id``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Engine

from edge_sync.protocol import parse_ts
from edge_sync.protocol.ids import IDENT_PATTERN

from . import keys
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

router = APIRouter(prefix="/api/v1", tags=["keys"])


_LISTING = "keys"
KeyIdPath = Annotated[str, Path(description="the key id (the 16 hex digits after omk_)")]


class ApiKeyInfo(BaseModel):
    key_id: str = Field(examples=["3f9c0a7d51e2b846"])
    role: keys.Role
    name: str | None
    created_at: Timestamp
    last_used_at: Timestamp | None = Field(description="updated at most once a minute")
    revoked_at: Timestamp | None
    store_id: str | None = Field(
        default=None, description="device keys: the one store whose data the key reads"
    )
    device_id: str | None = Field(default=None, description="device keys: the device holding it")


class NewApiKey(ApiKeyInfo):
    key: str = Field(
        description="the key itself; shown only in this response, central keeps a hash",
        examples=["omk_3f9c0a7d51e2b846_q7Jw…"],
    )


class CreateApiKey(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # what ``check_binding`` enforces, said in the schema: a device key names its
        # store; any other role names neither a store nor a device
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["role", "store_id"],
                    "properties": {"role": {"const": "device"}, "store_id": {"type": "string"}},
                },
                {
                    "properties": {
                        "role": {"enum": [r for r in keys.ROLES if r != "device"]},
                        "store_id": {"type": "null"},
                        "device_id": {"type": "null"},
                    }
                },
            ]
        },
    )

    role: keys.Role
    name: str | None = Field(
        default=None,
        max_length=keys.NAME_MAX_CHARS,
        description="who or what uses the key",
        examples=["newsletter integration"],
    )
    store_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=IDENT_PATTERN,
        description="required for, and only for, a device key: the store it belongs to",
        examples=["s001"],
    )
    device_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=IDENT_PATTERN,
        description="device keys: the device that holds it (optional)",
        examples=["s001-k1"],
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        try:
            return keys.check_name(v)
        except keys.InvalidKeySpec as err:
            raise ValueError(str(err).removeprefix("name: ")) from None

    @model_validator(mode="after")
    def _binding(self) -> CreateApiKey:
        try:
            keys.check_binding(self.role, self.store_id, self.device_id)
        except keys.InvalidKeySpec as err:
            raise ValueError(str(err).removeprefix("store: ")) from None
        return self


def _info(k: keys.ApiKey) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "role": k.role,
        "name": k.name,
        "created_at": k.created_at,
        "last_used_at": k.last_used_at,
        "revoked_at": k.revoked_at,
        "store_id": k.store_id,
        "device_id": k.device_id,
    }


def _not_found(err: keys.KeyNotFound) -> ApiError:
    return ApiError(404, "no API key with this id", type_=problem_type("not-found"))


@router.get("/keys", response_model=Page[ApiKeyInfo], summary="List API keys", **guarded("admin"))
def list_api_keys(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    """All keys, revoked ones included, oldest first. Never the keys themselves."""
    after = None
    if page.cursor:
        at, key_id = decode_cursor(page.cursor, _LISTING, (str, str))
        try:
            after = (parse_ts(at), key_id)
        except (ValueError, OverflowError):  # (a year-1 time with an offset overflows)
            raise invalid_cursor() from None
    with engine.connect() as conn:
        rows = keys.list_keys(conn, page.limit + 1, after)
    items = rows[: page.limit]
    nxt = None
    if len(rows) > page.limit:
        last = items[-1]
        nxt = encode_cursor(_LISTING, (last.created_at.isoformat(), last.key_id))
    return {"items": [_info(k) for k in items], "limit": page.limit, "next": nxt}


@router.post(
    "/keys",
    response_model=NewApiKey,
    status_code=201,
    summary="Create an API key (the response is the only place the key is shown)",
    **guarded("admin"),
)
def create_api_key(
    body: CreateApiKey, engine: Annotated[Engine, Depends(get_engine)], response: Response
) -> dict[str, Any]:
    new = keys.create_key(
        engine, body.role, body.name, store_id=body.store_id, device_id=body.device_id
    )
    response.headers["Location"] = f"/api/v1/keys/{new.info.key_id}"
    response.headers["Cache-Control"] = "no-store"  # the body holds a secret
    return {**_info(new.info), "key": new.key}


@router.get(
    "/keys/{key_id}",
    response_model=ApiKeyInfo,
    summary="Get one API key",
    responses={404: {"description": "No API key with this id"}},
    **guarded("admin"),
)
def get_api_key(
    key_id: KeyIdPath, engine: Annotated[Engine, Depends(get_engine)]
) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            return _info(keys.get_key(conn, key_id))
    except keys.KeyNotFound as err:
        raise _not_found(err) from None


@router.delete(
    "/keys/{key_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke an API key (effective from the next request)",
    responses={
        404: {"description": "No API key with this id"},
        409: {"description": "The key was already revoked"},
    },
    **guarded("admin"),
)
def revoke_api_key(key_id: KeyIdPath, engine: Annotated[Engine, Depends(get_engine)]) -> Response:
    try:
        keys.revoke_key(engine, key_id)
    except keys.KeyNotFound as err:
        raise _not_found(err) from None
    except keys.KeyAlreadyRevoked as err:
        raise ApiError(
            409,
            f"this key was already revoked at {err.key.revoked_at:%Y-%m-%dT%H:%M:%SZ}",
            type_=problem_type("already-revoked"),
        ) from None
    return Response(status_code=204)
