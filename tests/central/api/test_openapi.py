"""``/openapi.json`` documents the bearer scheme, each operation's roles and its problems."""

from __future__ import annotations

from fastapi.testclient import TestClient

from central_api.api.errors import PROBLEM_JSON

from .test_auth import ROUTES

PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_openapi_shows_the_bearer_scheme_roles_and_problem_responses(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "omk_<key id>_<secret>",
        "description": doc["components"]["securitySchemes"]["apiKey"]["description"],
    }
    schemas = doc["components"]["schemas"]
    problem = schemas["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
    assert "HTTPValidationError" not in schemas and "FieldError" in schemas

    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    for route in ROUTES:
        path = route.path.replace("{victim}", "{key_id}")
        assert (route.method, path) in documented
        op = doc["paths"][path][route.method.lower()]
        assert op["security"] == [{"apiKey": []}], path
        assert op["x-omk-roles"] == list(route.roles), path
        assert f"Roles: {', '.join(route.roles)}." in op["description"]
        for code in ("401", "403", "500"):
            assert op["responses"][code]["content"] == PROBLEM, (path, code)
    assert "413" in doc["paths"]["/api/v1/keys"]["post"]["responses"]
    delete = doc["paths"]["/api/v1/keys/{key_id}"]["delete"]["responses"]
    assert {"404", "409", "422"} <= set(delete)

    # every error response anywhere is a problem
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for code, resp in op["responses"].items():
                if int(code) >= 400 and not (path == "/healthz" and code == "503"):
                    assert resp.get("content") == PROBLEM, (method, path, code)
    assert "security" not in doc["paths"]["/healthz"]["get"]
