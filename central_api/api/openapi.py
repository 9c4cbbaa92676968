"""``/openapi.json``: FastAPI's schema plus what it cannot see by itself.

Each operation with the bearer security requirement gets its 401/403 responses, and its
roles (``x-omk-roles``, from ``auth.guarded``) as a line in its description; every error
response is described as ``application/problem+json`` with the ``Problem`` schema,
including the 422s FastAPI documents with its own validation-error shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .errors import Problem
from .middleware import MAX_BODY_BYTES
from .online_schemas import online_event_components

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    400: "The request could not be read",
    401: "No API key, or a malformed, unknown or revoked one",
    403: "The key's role may not call this operation",
    404: "Not found",
    409: "Conflicts with the resource's current state",
    413: f"The request body is larger than {MAX_BODY_BYTES} bytes",
    422: "Invalid input; `errors` names each bad field",
    500: "An unexpected error; details are only in the server log",
    503: "The database is unavailable; retry later",
}


def _problem(description: str | None, code: int) -> dict[str, Any]:
    return {
        "description": description or _DESCRIPTIONS.get(code, "Error"),
        "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
    }


def _document(schema: dict[str, Any]) -> None:
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    components.update(online_event_components())
    # FastAPI's own validation-error shape is never sent: 422s are problems too.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)

    for path, ops in schema["paths"].items():
        for op in ops.values():
            _document_operation(path, op)


def _document_operation(path: str, op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    codes = {500} if path == "/healthz" else {500, 503}  # healthz has its own 503 body
    if op.get("security"):
        codes |= {401, 403}
    roles = op.get("x-omk-roles")
    if roles:
        shown = [
            f"{r} (of this store only)" if r == "device" and op.get("x-omk-store-param") else r
            for r in roles
        ]
        line = f"Roles: {', '.join(shown)}."
        op["description"] = f"{op.get('description', '').rstrip()}\n\n{line}".strip()
    params = op.get("parameters", [])
    if "requestBody" in op:
        codes |= {400, 413, 422}  # 400: a body that is not text in its declared encoding
    if params:
        codes.add(422)
    if any(p.get("in") == "path" for p in params):
        codes.add(404)
    for code in codes:
        responses.setdefault(str(code), {})
    for code_text, resp in responses.items():
        if code_text.isdigit() and int(code_text) >= 400:
            # (FastAPI's "Validation Error" is replaced by something more useful)
            desc = resp.get("description")
            responses[code_text] = _problem(
                None if desc == "Validation Error" else desc, int(code_text)
            )
    op["responses"] = dict(sorted(responses.items()))


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _document(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
