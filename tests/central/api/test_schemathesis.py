"""schemathesis against a live central: every operation in /openapi.json, all checks.

Central runs as it does in production (``main.py central --role api`` under uvicorn, on a
free port, on a migrated database), and each operation is called with a real API key of
the role it documents in ``x-omk-roles`` (its least privileged one), so the authenticated
code paths run, not just the 401s. schemathesis' ``ignored_auth`` check then also sends
each operation without a key and with a wrong one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection
from sqlalchemy import Engine, create_engine

from central_api.api.keys import create_key
from central_api.api.pagination import encode_cursor
from central_api.app import create_app
from central_api.domain.inventory.fields import check_digit
from central_api.domain.scoring.rules import default_rules, default_rules_text
from central_api.store import make_engine, migrate
from central_api.store.sql import BIGINT_MAX
from tests.support import pg
from tests.support.ports import free_port
from tests.support.procs import Proc
from tests.support.waiting import StopWaiting, wait_for

#: examples per operation in the fuzzing phase (the coverage phase adds its own,
#: a fixed set per operation); sized so the whole run stays near a minute on 2 cores
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class LiveCentral:
    base_url: str
    keys: dict[str, str]
    proc: Proc


def _start(url: str, workdir: Path) -> Iterator[LiveCentral]:
    engine: Engine = make_engine(url)
    migrate(engine)
    keys = {role: create_key(engine, role, f"schemathesis {role}").key for role in
            ("admin", "marketer", "integration")}  # fmt: skip
    _seed_inventory(engine)
    engine.dispose()
    port = free_port()
    config = workdir / "central.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[api]\nhost = "127.0.0.1"\nport = {port}\n'
        "[webhooks]\npoll_interval_s = 60\n"
        f'[tokens]\nkey_dir = "{workdir / "keys"}"\n'  # not the checkout's var/keys
    )
    # Webhook URLs come from generated data: a delivery must never leave the machine, so
    # every outbound request of the server goes to a proxy that is not there.
    dead_proxy = "http://127.0.0.1:9"
    env = {name: dead_proxy for name in ("http_proxy", "https_proxy", "all_proxy")}
    env = {**env, **{k.upper(): v for k, v in env.items()}, "NO_PROXY": "", "no_proxy": ""}
    proc = Proc(
        ["central", "--role", "api", "--config", str(config)],
        workdir / "central.log",
        env=env,
    ).start()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if not proc.alive:
            raise StopWaiting(f"central exited: {proc.log_path.read_text()[-2000:]}")
        return requests.get(base + "/healthz", timeout=2).status_code == 200

    try:
        wait_for(up, timeout=60, message="central's /healthz")
        yield LiveCentral(base, keys, proc)
    finally:
        proc.terminate()


#: a store and a product that exist, so that a generated stock import can be accepted
_STORES_CSV = (
    "id,name,address,latitude,longitude,timezone\ns001,One,Street 1,48.1,11.5,Europe/Berlin\n"
)
_CATALOG_CSV = "sku,barcode,name,brand,category,price,currency\nA-1,4006381333931,N,B,C,1.00,EUR\n"


def _seed_inventory(engine: Engine) -> None:
    from central_api.imports import catalog, stores
    from central_api.imports.runner import import_bytes

    for kind, text in ((stores.KIND, _STORES_CSV), (catalog.KIND, _CATALOG_CSV)):
        import_bytes(engine, kind, text.encode(), datetime.now(UTC), dry_run=False)


def _inventory_csv(path: str, n: int) -> str | None:
    """A valid body for an inventory import (varied by ``n``), or None for other paths."""
    if path == "/api/v1/catalog/import":
        body = f"40{n % 10**10:010d}"
        barcode = body + str(check_digit(body))
        return f"{_CATALOG_CSV.splitlines()[0]}\nP-{n % 1000},{barcode},N,B,C/D,{n % 100}.5,EUR\n"
    if path == "/api/v1/stores/import":
        return f"{_STORES_CSV.splitlines()[0]}\ns{n % 50},S,A,{n % 90}.25,{n % 180},UTC\n"
    if path == "/api/v1/stock/import":
        return f"store_id,sku,quantity,low_threshold\ns001,A-1,{n % 20},{n % 5}\n"
    return None


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def live_central(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveCentral]:
    workdir = tmp_path_factory.mktemp(f"live-central-{request.param}")
    if request.param == "sqlite":
        yield from _start(f"sqlite:///{workdir / 'central.db'}", workdir)
        return
    server = request.getfixturevalue("pg_server_url")
    with pg.temp_schema(server) as url:
        yield from _start(url, workdir)


def _document() -> dict[str, Any]:
    """The OpenAPI document central serves, made without a database (nothing connects)."""
    return create_app(create_engine("sqlite://")).openapi()


# Loaded at collection, so that each operation is its own test; the live server is
# checked to serve exactly this document before anything is sent to it.
schema = schemathesis.openapi.from_dict(
    _document(),
    config=SchemathesisConfig.from_dict(
        {
            "seed": 20261201,  # the same cases on every run; change it locally to explore
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        }
    ),
)


#: the keys of the central under test, by role (set by ``served``)
_KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def served(live_central: LiveCentral) -> Iterator[LiveCentral]:
    r = requests.get(live_central.base_url + "/openapi.json", timeout=10)
    assert r.status_code == 200
    assert r.json() == _document(), "the live central serves another OpenAPI document"
    _KEYS.update(live_central.keys)
    yield live_central
    _KEYS.clear()


@schema.auth()
class RoleKey:
    """The key of the least privileged role each operation admits, as schemathesis' own
    credentials: its negative cases without a key stay without one, and ignored_auth
    resends positive ones without a key and with a wrong one.

    Some cases are made when the tests are collected, before central runs: they carry
    the role, and ``_with_key`` puts the key in just before the call."""

    def get(self, case: Any, ctx: Any) -> str:
        roles = case.operation.definition.raw.get("x-omk-roles") or ["admin"]
        # (a device key is bound to one store, which generated paths seldom name)
        return next((r for r in roles if r not in ("admin", "device")), "admin")

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"{_ROLE_KEY}{data}"}


_ROLE_KEY = "Bearer key-of-role:"


def _with_key(case: Any) -> None:
    header = (case.headers or {}).get("Authorization")
    if isinstance(header, str) and header.startswith(_ROLE_KEY):
        case.headers["Authorization"] = "Bearer " + _KEYS[header.removeprefix(_ROLE_KEY)]


@schemathesis.serializer("application/toml", "text/csv")
def _file_text(ctx: Any, value: Any) -> bytes:
    """A rules file or a CSV is sent as its text; anything else (negative cases) as
    JSON, which is neither."""
    if isinstance(value, bytes):
        return value
    text = value if isinstance(value, str) else json.dumps(value)
    return text.encode("utf-8", "surrogatepass")


def _digest(text: object) -> int:
    return int.from_bytes(hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).digest()[:6])


def _as_issued(case: Any) -> None:
    """In a positive case, what no schema can say: the values that are valid by the
    schema and still only valid when the server made them.

    A cursor is opaque (any string is schema-valid, only a listing's own ``next`` is
    accepted), so the generated one becomes a real cursor of that listing at a position
    drawn from it. A rules file is TOML whose meaning JSON Schema cannot state, so the
    generated text becomes the built-in rules file. Negative cases keep what was drawn.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    path, query = case.operation.path, case.query or {}
    if query.get("cursor") is not None:
        n = _digest(query["cursor"])
        at = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n % 10**8)).isoformat()
        positions = {
            "/api/v1/keys": ("keys", [at, f"{n:016x}"[-16:]]),
            "/api/v1/devices": ("devices", [f"s{n % 97}", f"s{n % 97}-k{n % 7}"]),
            "/api/v1/profiles": (
                ("profiles", [f"p-{n:x}"])
                if query.get("sort", "id") == "id"
                else (f"profiles:{query['sort']}", [1 - n % 3, (n % 2000) / 7 - 140, f"p-{n:x}"])
            ),
            "/api/v1/webhooks": ("webhooks", [1 + n % BIGINT_MAX]),
            "/api/v1/campaigns": ("campaigns", [f"cmp-{n:x}"]),
            "/api/v1/stores": ("stores", [f"s{n % 97}"]),
            "/api/v1/stores/{store_id}/staff": (
                f"staff:{(case.path_parameters or {}).get('store_id')}",
                [f"st-{n:x}"],
            ),
            "/api/v1/orders": (
                f"orders:{query.get('store') or ''}:{query.get('state') or ''}",
                [f"o-{n % 10**8:08d}"],
            ),
            "/api/v1/orders/conflicts": (
                f"order-conflicts:{query.get('store') or ''}:{query.get('order_id') or ''}",
                [1 + n % BIGINT_MAX],
            ),
            "/api/v1/campaign-reports/scans": (
                "campaign-scans",
                [
                    f"cmp-{n % 5}",
                    f"s{n % 7}",
                    (date(2026, 1, 1) + timedelta(days=n % 400)).isoformat(),
                ],
            ),
            "/api/v1/webhooks/{webhook_id}/deliveries": (
                f"deliveries:{(case.path_parameters or {}).get('webhook_id')}:"
                f"{query.get('status') or ''}",
                [1 + n % BIGINT_MAX],
            ),
        }
        listing, position = positions[path]
        case.query = {**query, "cursor": encode_cursor(listing, position)}
    if path in ("/api/v1/rules", "/api/v1/rules/dry-run") and case.method.upper() != "GET":
        case.body = default_rules_text()
    if path == "/api/v1/profiles/attributes:import":
        # a CSV's header and rows are a grammar JSON Schema cannot state
        case.body = f"customer_id,segment,distance_km\nC-{_digest(case.body) % 1000},loyal,3.5\n"
    if path == "/api/v1/stores/{store_id}/staff/{staff_id}" and isinstance(case.body, dict):
        # digits of the right length can still be a run or one digit repeated, which a
        # schema does not say: an easy-to-guess PIN is refused with a 422
        case.body = {**case.body, "pin": f"{480215 + _digest(case.body) % 1000:06d}"}
    inventory = _inventory_csv(path, _digest(case.body))
    if inventory is not None:
        # a CSV's header and rows are a grammar JSON Schema cannot state
        case.body = inventory
    if path == "/api/v1/profiles" and query.get("lifecycle_stage") is not None:
        # the stages are the active rules' (PUT /rules changes them), not a fixed enum
        stages = sorted({t.stage for t in default_rules().thresholds if t.stage})
        case.query = {**case.query, "lifecycle_stage": stages[_digest(query) % len(stages)]}
    if path in ("/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}"):
        _days_in_order(case.body, "starts_on", "ends_on")
        if isinstance(case.body, dict):
            _days_in_order(case.body.get("offer"), "valid_from", "valid_until")
    if (path == "/api/v1/funnel" or path.startswith("/api/v1/campaign-reports/")) and (
        query.get("start") and query.get("end")
    ):
        # end after start: a relation between two parameters JSON Schema cannot state
        start, end = sorted((query["start"], query["end"]), key=_instant)
        if _instant(start) == _instant(end):
            case.query = {k: v for k, v in case.query.items() if k != "end"}
        else:
            case.query = {**case.query, "start": start, "end": end}


def _days_in_order(doc: Any, first: str, last: str) -> None:
    """An end day on or after its start day: a relation JSON Schema cannot state."""
    if isinstance(doc, dict) and isinstance(doc.get(first), str) and isinstance(doc.get(last), str):
        doc[first], doc[last] = sorted((doc[first], doc[last]))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def _positive_events_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """The event schemas in OpenAPI promise no more than the validator accepts: every
    event of a schema-valid request is stored or a duplicate, none is rejected."""
    if (
        case.operation.path == "/api/v1/events"
        and case.meta is not None
        and case.meta.generation.mode.is_positive
        and response.status_code == 200
    ):
        rejected = response.json()["rejected"]
        assert not rejected, f"schema-valid events were rejected: {rejected}"
    return None


@schema.parametrize()
def test_api_contract(case: Any, served: LiveCentral) -> None:
    _with_key(case)
    _as_issued(case)
    excluded = []
    if case.operation.path == "/api/v1/events":
        # Documented: each event is judged on its own, so a request with an invalid event
        # is answered 200 with that event in `rejected` (one bad event must not hold back
        # the rest); _positive_events_are_accepted checks the other direction.
        excluded.append(negative_data_rejection)
    response = case.call_and_validate(
        base_url=served.base_url,
        additional_checks=[_positive_events_are_accepted],
        excluded_checks=excluded,
        timeout=30,
    )
    _ANSWERS.setdefault(case.operation.label, []).append(response.status_code)


#: status codes answered, by operation, in this module's run
_ANSWERS: dict[str, list[int]] = {}


def test_every_operation_ran_past_authentication(served: LiveCentral) -> None:
    """Each operation got requests its key was good for (not only 401/403), so the
    authenticated code ran; the counts are what the run covered."""
    assert set(_ANSWERS) == {op.label for op in _operations()}
    for label, codes in sorted(_ANSWERS.items()):
        assert any(c not in (401, 403) for c in codes), (label, sorted(set(codes)))
    total = sum(map(len, _ANSWERS.values()))
    print(f"schemathesis: {total} cases over {len(_ANSWERS)} operations")
    _ANSWERS.clear()


def _operations() -> list[Any]:
    return [r.ok() for r in schema.get_all_operations()]
