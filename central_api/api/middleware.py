"""ASGI middleware: a cap on request bodies, and a last line of defence for bugs.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so they can answer before the app runs
and see exceptions as they leave it.
"""

from __future__ import annotations

import logging
import uuid

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import problem_response, problem_type

log = logging.getLogger(__name__)

#: the largest request body accepted (1 MiB); larger ones get a 413 problem
MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body without (or with a false) Content-Length has
    grown past the cap. An HTTPException, because FastAPI re-raises those from body
    parsing as they are, so the app's handler answers it as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                too_large = False  # the server rejects a malformed length itself
            if too_large:
                response = problem_response(
                    scope.get("path", ""),
                    413,
                    f"the request body is larger than {self.max_bytes} bytes",
                    type_=problem_type("body-too-large"),
                    # the client may still be sending the body; we will not read it
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


class CatchAllMiddleware:
    """Turns any exception that no handler answered into a 500 problem that says nothing
    about the internals, and logs the traceback with an error id the problem quotes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            error_id = uuid.uuid4().hex
            path = scope.get("path", "")
            log.exception("error %s: unhandled exception in %s %s", error_id, scope["method"], path)
            if started:
                raise  # half a response is out; only the server can end the connection
            response = problem_response(
                path,
                500,
                f"an unexpected error occurred; the operator can find it as error {error_id}",
                type_=problem_type("internal"),
                error_id=error_id,
            )
            await response(scope, receive, send)
