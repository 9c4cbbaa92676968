"""Who is calling: ``Authorization: Bearer omk_<key_id>_<secret>`` → a role.

``require("marketer")`` is a dependency that lets marketer and admin keys through (admin
may do everything) and answers 401 for a missing, malformed, unknown or revoked key
(with ``WWW-Authenticate: Bearer``, RFC 6750) and 403 for a key of another role.

A ``device`` key is bound to one store. ``require`` never admits it: only the routes of
one store's data, with a ``{store_id}`` path parameter, do, through ``require_store``
(or ``store_guarded`` / ``store_reader`` as decorator arguments), and only for its own
store. So a kiosk's key, the one credential that sits in a shop, opens that shop's
catalog feed and never a profile, a campaign or another store.

FastAPI reads and parses a request's body before it runs any dependency, so a bad body
would be answered 422 before a missing key is noticed. ``AuthFirstMiddleware`` therefore
makes the same check in front of each guarded route, before anything reads the body; the
dependencies then find the caller in the request's state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from edge_sync.protocol.ids import IDENT_PATTERN

from .allow import documented_paths
from .errors import ApiError, error_response, problem_type
from .keys import DEVICE, ROLES, KeyRejected, Role, verify_key

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


#: the OpenAPI extension naming the path parameter a device key's store must match
STORE_SCOPED = "x-omk-store-param"
STORE_PARAM = "store_id"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    #: device keys only: the store the key is bound to, and the device that holds it
    store_id: str | None = None
    device_id: str | None = None


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


def _principal_of(request: Request, engine: Engine) -> Principal:
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
    return Principal(key.key_id, key.role, key.store_id, key.device_id)


def _forbidden(detail: str) -> ApiError:
    return ApiError(
        403,
        detail,
        type_=problem_type("forbidden"),
        headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope"'},
    )


def _check_role(principal: Principal, allowed: Sequence[Role]) -> None:
    if principal.role in allowed:
        return
    needs = ", ".join(r for r in allowed if r != DEVICE)
    if principal.role == DEVICE:
        raise _forbidden(
            f"a device key reads only its own store's data (store {principal.store_id}); "
            f"this needs one of: {needs}"
        )
    raise _forbidden(f"a {principal.role} key may not do this; it needs one of: {needs}")


def _check_store(principal: Principal, store_id: str | None) -> None:
    """A device key passes only for its own store; other roles reach every store."""
    if principal.role != DEVICE:
        return
    if store_id is None or principal.store_id is None:  # fail closed
        raise _forbidden("a device key reads only its own store's data; this names no store")
    if store_id != principal.store_id:
        raise _forbidden(f"this device key is for store {principal.store_id}, not {store_id[:64]}")


def _allowed(roles: Sequence[Role]) -> tuple[Role, ...]:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    if DEVICE in roles:
        raise ValueError(
            "device keys are limited to their store: use require_store/store_guarded on a "
            "route with a {store_id} path parameter, not require/guarded"
        )
    return tuple(r for r in ROLES if r in roles or r == "admin")


def authenticate(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    _declared: Annotated[object, Security(bearer_scheme)],
) -> Principal:
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):  # checked by the gate before the body was read
        return known
    return _principal_of(request, engine)


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency admitting keys of ``roles`` and admin keys (never a device key)."""
    allowed = _allowed(roles)

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        _check_role(principal, allowed)
        return principal

    return dependency


def guarded(*roles: Role) -> dict[str, Any]:
    """Route decorator arguments: ``@router.get("/x", **guarded("marketer"))`` requires
    the roles and documents them in OpenAPI (``x-omk-roles``, read by openapi.py)."""
    dependency = require(*roles)
    return {
        "dependencies": [Depends(dependency)],
        "openapi_extra": {"x-omk-roles": list(_allowed(roles))},
    }


def require_store(*roles: Role) -> Callable[..., Principal]:
    """A dependency for a route with a ``{store_id}`` path parameter: admits keys of
    ``roles`` and admin keys for every store, and a device key for its own store only
    (403 "this device key is for store s001, not s002")::

        @router.get("/stores/{store_id}/feed")
        def feed(store_id: str, who: Annotated[Principal, Depends(require_store())]): ...
    """
    allowed = (*_allowed(roles), DEVICE)

    def dependency(
        principal: Annotated[Principal, Depends(authenticate)],
        # the same pattern as the routes' own store ids, so the documented parameter
        # (FastAPI shows one of the two) says what the route accepts
        store_id: Annotated[str, Path(pattern=IDENT_PATTERN)],
    ) -> Principal:
        _check_role(principal, allowed)
        _check_store(principal, store_id)
        return principal

    return dependency


def store_guarded(*roles: Role) -> dict[str, Any]:
    """``guarded`` for one store's data: ``@router.get("/stores/{store_id}/x",
    **store_guarded("integration"))``. Device keys of that store get through too, and
    the gate checks the store before the body is read."""
    return {
        "dependencies": [Depends(require_store(*roles))],
        "openapi_extra": {
            "x-omk-roles": [*_allowed(roles), DEVICE],
            STORE_SCOPED: STORE_PARAM,
        },
    }


def store_reader() -> dict[str, Any]:
    """What a store's own data feed needs: admin keys, and device keys of that store."""
    return store_guarded()


def _path_param(template: str, path: str, name: str) -> str | None:
    """The value of ``{name}`` in ``path``, which matched ``template`` (one segment each:
    allow.py compiles parameters as ``[^/]+``)."""
    want = "{" + name + "}"
    for t, p in zip(template.split("/"), path.split("/"), strict=False):
        if t == want:
            return p
    return None


class AuthFirstMiddleware:
    """Checks the key of each guarded operation before the app reads the body.

    The guarded operations and their roles are read from the app's own OpenAPI document
    (``x-omk-roles``, put there by ``guarded``), so what is enforced here is what is
    documented. A request that matches no documented operation goes on untouched: the
    router answers it (404, 405) and unguarded routes need no key.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _guard(scope: Scope) -> tuple[tuple[Role, ...], str | None, str] | None:
        """The roles of the operation, its store parameter and its path template."""
        # the first documented operation that fits, as the router takes the first route
        for doc in documented_paths(scope["app"]):
            op = doc.operations.get(scope["method"])
            if op is not None and doc.regex.match(scope["path"]):
                roles = op.get("x-omk-roles")
                return (tuple(roles), op.get(STORE_SCOPED), doc.template) if roles else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (guard := self._guard(scope)) is not None:
            roles, store_param, template = guard
            request = Request(scope)  # without receive: nothing here can read the body
            try:
                principal = await run_in_threadpool(_principal_of, request, get_engine(request))
                _check_role(principal, roles)
                if principal.role == DEVICE:  # (roles hold device only when store-scoped)
                    store = _path_param(template, scope["path"], store_param or STORE_PARAM)
                    _check_store(principal, store if store_param else None)
            except (ApiError, OperationalError) as err:
                response = await error_response(request, err)
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
