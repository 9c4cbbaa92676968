"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API returns has ``type``, ``title``, ``status``, ``detail`` and
``instance`` (the request path); validation errors add ``errors``, one entry per bad
field with its location (body, query, path, header) and dotted path. ``type`` is
``about:blank`` for plain HTTP errors (unknown route, wrong method) and a
``urn:omnikiosk:problem:…`` name where a client may want to tell cases apart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .allow import allow_header

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_URN = "urn:omnikiosk:problem:"

_LOCATIONS = ("body", "query", "path", "header", "cookie")


def problem_type(name: str) -> str:
    return PROBLEM_URN + name


class FieldError(BaseModel):
    """One invalid input."""

    location: str = Field(description="body, query, path or header", examples=["body"])
    field: str = Field(
        description="dotted path to the field; list items by index", examples=["role"]
    )
    pointer: str | None = Field(
        default=None,
        description="JSON Pointer into the body (body errors only)",
        examples=["#/role"],
    )
    line: int | None = Field(
        default=None, description="the line of a CSV body (imports only)", examples=[12]
    )
    detail: str = Field(examples=["Input should be 'admin', 'marketer' or 'integration'"])
    type: str = Field(description="machine-readable error kind", examples=["literal_error"])


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(default="about:blank", examples=[PROBLEM_URN + "unauthenticated"])
    title: str = Field(examples=["Unauthorized"])
    status: int = Field(examples=[401])
    detail: str | None = Field(default=None, examples=["missing bearer token"])
    instance: str | None = Field(default=None, examples=["/api/v1/devices"])
    errors: list[FieldError] | None = Field(
        default=None, description="validation errors (422 only)"
    )


class ApiError(Exception):
    """An error the API answers with a problem; raised by routes and dependencies."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail or str(status))
        self.status = status
        self.detail = detail
        self.type = type_
        self.title = title
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def safe_text(value: object, limit: int = 200) -> str:
    """Text fit to echo in a problem: valid UTF-8 (no lone surrogates), at most ``limit``
    characters. Field names come from the client's body and may be anything."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem_response(
    instance: str,
    status: int,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or phrase(status),
        "status": status,
        "detail": None if detail is None else safe_text(detail, 2000),
        "instance": safe_text(instance, 2000),
    }
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic/FastAPI errors as ``FieldError`` dicts. The offending input is not echoed:
    it may be long, binary, or a secret pasted into the wrong field."""
    out: list[dict[str, Any]] = []
    for err in errors:
        loc = tuple(err.get("loc") or ())
        where = str(loc[0]) if loc and loc[0] in _LOCATIONS else "body"
        path = loc[1:] if loc and loc[0] in _LOCATIONS else loc
        kind = str(err.get("type", "value_error"))
        detail = str(err.get("msg", "invalid value"))
        if kind == "json_invalid":  # loc is ("body", character offset)
            pos = path[0] if path else None
            path = ()
            detail = "invalid JSON" + (f" at character {pos}" if isinstance(pos, int) else "")
        item: dict[str, Any] = {
            "location": where,
            "field": safe_text(".".join(str(p) for p in path)),
            "detail": safe_text(detail, 500),
            "type": safe_text(kind, 100),
        }
        if where == "body":
            item["pointer"] = safe_text(
                "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
            )
        out.append(item)
    return out


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(
        request.url.path,
        exc.status,
        exc.detail,
        type_=exc.type,
        title=exc.title,
        headers=exc.headers,
        errors=exc.errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's and FastAPI's own errors: unknown route, wrong method, body parsing."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if detail == phrase(exc.status_code):
        detail = None
    type_ = problem_type("body-too-large") if exc.status_code == 413 else "about:blank"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette names only the first matching route's methods
        headers["Allow"] = allow_header(request.scope) or headers.get("Allow", "")
    return problem_response(request.url.path, exc.status_code, detail, type_=type_, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    n = len(errors)
    return problem_response(
        request.url.path,
        422,
        f"{n} invalid input{'s' if n != 1 else ''}: "
        + ", ".join(f"{e['location']}{'.' + e['field'] if e['field'] else ''}" for e in errors[:5]),
        type_=problem_type("invalid-request"),
        errors=errors,
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Locked, full, unreachable: the client may retry; operators see it in the log.
    orig = getattr(exc, "orig", None) or exc
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, orig)
    return problem_response(
        request.url.path,
        503,
        "the database is unavailable; retry later",
        type_=problem_type("database-unavailable"),
        headers={"Retry-After": "5"},
    )


async def error_response(request: Request, exc: ApiError | OperationalError) -> JSONResponse:
    """The problem for an error raised outside the routes (in middleware), as a handler
    would have answered it."""
    if isinstance(exc, ApiError):
        return await _api_error(request, exc)
    return await _database_unavailable(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Problem responses for every expected error. Unexpected ones (500) are turned into
    problems by ``middleware.CatchAllMiddleware``, which also logs their traceback."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
