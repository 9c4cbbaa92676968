"""Who is calling: ``Authorization: Bearer omk_<key_id>_<secret>`` → a role.

``require("marketer")`` is a dependency that lets marketer and admin keys through (admin
may do everything) and answers 401 for a missing, malformed, unknown or revoked key
(with ``WWW-Authenticate: Bearer``, RFC 6750) and 403 for a key of another role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer
from sqlalchemy import Engine

from .errors import ApiError, problem_type
from .keys import ROLES, KeyRejected, Role, verify_key

REALM = "omnikiosk central"

#: declares the scheme in OpenAPI; the header is parsed below, to tell cases apart
bearer_scheme = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="omk_<key id>_<secret>",
    description="An API key from `python main.py central create-key --role ROLE` "
    "or `POST /api/v1/keys`, as `Authorization: Bearer omk_…`.",
    auto_error=False,
)

_DETAILS = {
    "missing": "missing API key: send Authorization: Bearer omk_<key id>_<secret>",
    "malformed": "malformed API key: expected Authorization: Bearer omk_<key id>_<secret>",
    "invalid": "invalid API key",
    "revoked": "this API key has been revoked",
}


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _unauthorized(reason: str) -> ApiError:
    challenge = f'Bearer realm="{REALM}"'
    if reason != "missing":  # RFC 6750 §3: no error code when no credentials were sent
        challenge += f', error="invalid_token", error_description="{_DETAILS[reason]}"'
    return ApiError(
        401,
        _DETAILS[reason],
        type_=problem_type("unauthenticated"),
        headers={"WWW-Authenticate": challenge},
    )


def authenticate(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    _declared: Annotated[object, Security(bearer_scheme)],
) -> Principal:
    header = request.headers.get("authorization")
    if not header or not header.strip():
        raise _unauthorized("missing")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("malformed")
    try:
        key = verify_key(engine, token.strip())
    except KeyRejected as err:
        raise _unauthorized(err.reason) from None
    return Principal(key.key_id, key.role)


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency admitting keys of ``roles`` and admin keys."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    allowed = tuple(r for r in ROLES if r in roles or r == "admin")

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise ApiError(
                403,
                f"a {principal.role} key may not do this; it needs one of: {', '.join(allowed)}",
                type_=problem_type("forbidden"),
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope"'},
            )
        return principal

    return dependency


def guarded(*roles: Role) -> dict[str, Any]:
    """Route decorator arguments: ``@router.get("/x", **guarded("marketer"))`` requires
    the roles and documents them in OpenAPI (``x-omk-roles``, read by openapi.py)."""
    dependency = require(*roles)
    allowed = [r for r in ROLES if r in roles or r == "admin"]
    return {"dependencies": [Depends(dependency)], "openapi_extra": {"x-omk-roles": allowed}}
