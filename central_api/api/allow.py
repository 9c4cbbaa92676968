"""What a path accepts: the ``Allow`` header of OPTIONS and of 405 answers.

Starlette answers a wrong method with the methods of the first route whose path matches,
so a path served by two routes (``GET`` and ``DELETE /api/v1/keys/{key_id}``) advertised
only one. Here the resource is the most specific documented path that matches (a fixed
segment beats a parameter: ``/profiles/merge`` is not ``/profiles/{profile_id}``) and
``Allow`` lists every method it documents; undocumented routes (``/openapi.json``, the
docs pages) are asked one method at a time, as the router would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

_PROBED = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


@dataclass(frozen=True, slots=True)
class DocumentedPath:
    template: str
    regex: re.Pattern[str]
    #: method -> the operation object of the OpenAPI document
    operations: dict[str, dict[str, Any]]

    @property
    def specificity(self) -> tuple[int, int]:
        """More fixed segments first, then fewer parameters."""
        segments = self.template.strip("/").split("/")
        params = sum(1 for s in segments if s.startswith("{"))
        return (len(segments) - params, -params)


def documented_paths(app: Any) -> list[DocumentedPath]:
    """The app's OpenAPI paths in document (routing) order, compiled once per app."""
    cached = getattr(app.state, "documented_paths", None)
    if cached is None:
        cached = []
        for template, item in app.openapi()["paths"].items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            ops = {m.upper(): op for m, op in item.items() if isinstance(op, dict)}
            cached.append(DocumentedPath(template, re.compile(f"^{pattern}$"), ops))
        app.state.documented_paths = cached
    return cached


def allowed_methods(scope: Scope) -> list[str]:
    """The methods of the resource at the scope's path, plus OPTIONS; [] for none."""
    app = scope.get("app")
    if app is None:
        return []
    path = scope["path"]
    matching = [d for d in documented_paths(app) if d.regex.match(path)]
    if matching:
        best = max(d.specificity for d in matching)
        methods = sorted({m for d in matching if d.specificity == best for m in d.operations})
    else:
        routes = getattr(getattr(app, "router", None), "routes", [])
        methods = [
            m for m in _PROBED
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
