"""``/openapi.json`` documents the bearer scheme, each operation's roles and its problems."""

from __future__ import annotations

import jsonschema_rs
from fastapi.testclient import TestClient

from central_api.api.errors import PROBLEM_JSON
from central_api.domain.online.online import check
from edge_sync.protocol.online import CENTRAL_ONLY_TYPES, ONLINE_REGISTRY

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
        assert f"Roles: {', '.join(route.roles)}" in op["description"]
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


def test_online_event_types_have_their_validators_schemas(client: TestClient) -> None:
    """Each registered online type is documented with the schema of the model that
    validates it, and what that schema calls valid the validator accepts."""
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    items = schemas["EventsIn"]["properties"]["events"]["items"]
    mapping = items["discriminator"]["mapping"]
    # every type integrations may post; the ones central records itself are left out
    posted = [t for t in ONLINE_REGISTRY if t.name not in CENTRAL_ONLY_TYPES]
    assert "qr.opened" in CENTRAL_ONLY_TYPES and len(posted) < len(list(ONLINE_REGISTRY))
    assert {t.name for t in posted} == set(mapping)
    assert {r["$ref"] for r in items["oneOf"]} == set(mapping.values())
    for et in posted:
        envelope = schemas[mapping[et.name].rsplit("/", 1)[1]]
        assert envelope["properties"]["type"]["const"] == et.name
        assert envelope["properties"]["data"] == {
            "$ref": f"#/components/schemas/{et.model.__name__}"
        }
        data = dict(schemas[et.model.__name__])
        assert set(data["properties"]) == set(et.model.model_fields)

    validator = jsonschema_rs.validator_for({**items, "components": doc["components"]})
    good = {"id": "0193a6f2-0000-7000-8000-000000000001", "type": "order.placed", "v": 1,
            "occurred_at": "2026-11-20T09:10:00Z", "channel": "web", "source": "shop",
            "customer_id": "C1", "data": {"order_id": "o-1", "value": 120.0, "items": 2}}  # fmt: skip
    assert validator.is_valid(good) and check(good)[2] is None
    for change in ({"customer_id": None}, {"occurred_at": 0.5}, {"type": "order.lost"},
                   {"data": {"order_id": "o-1", "value": 1.0, "items": 0}}):  # fmt: skip
        bad = {**good, **change}
        assert not validator.is_valid(bad), change
        assert check(bad)[2] is not None, change  # and the validator rejects it too
