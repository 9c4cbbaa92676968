"""docs/api.md lists every route the app serves, with its roles (docs that cannot rot)."""

from __future__ import annotations

import re

from sqlalchemy import create_engine

from central_api.app import create_app
from tests.support import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "api.md").read_text()


def test_every_route_is_documented_with_its_roles():
    rows = {
        (m, p): roles
        for m, p, roles in re.findall(
            r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| ([^|]+) \|", DOC, re.M
        )
    }
    spec = create_app(create_engine("sqlite://")).openapi()
    served = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            key = (method.upper(), path)
            served.add(key)
            assert key in rows, f"{key} is not in docs/api.md"
            roles = set(op.get("x-omk-roles") or []) - {"admin"}
            documented = {r.strip() for r in rows[key].split(",")} - {"admin", "(none)"}
            assert documented == roles, f"{key}: docs say {documented}, the app {roles}"
    assert set(rows) == served, f"documented but not served: {set(rows) - served}"
