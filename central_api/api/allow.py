"""What a path accepts: the ``Allow`` header of OPTIONS and of 405 answers.

Starlette answers a wrong method with the methods of the first route whose path matches,
so a path served by two routes (``GET`` and ``DELETE /api/v1/keys/{key_id}``) advertised
only one. Here every route is asked, and OPTIONS is answered for any path that exists.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route serves at the scope's path, plus OPTIONS; [] for none.

    Each method is tried against the router's routes as the router itself would (a
    full match), so included routers and path converters count exactly as in routing."""
    app = scope.get("app")
    routes = getattr(getattr(app, "router", None), "routes", [])
    methods = [
        m for m in _METHODS
        if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in routes)
    ]  # fmt: skip
    return [*methods, "OPTIONS"] if methods else []


def allow_header(scope: Scope) -> str:
    return ", ".join(allowed_methods(scope))


class OptionsMiddleware:
    """``OPTIONS`` on an existing path: 204 with ``Allow``, before authentication (it
    reveals no more than ``/openapi.json``, and a CORS preflight carries no credentials)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            methods = allowed_methods(scope)
            if methods:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 204,
                        "headers": [(b"allow", ", ".join(methods).encode("ascii"))],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)
