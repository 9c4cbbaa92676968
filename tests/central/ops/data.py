"""Online events, scored profiles and rules files for the rules and webhook tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from central_api.domain.online.online import ingest_online
from central_api.domain.profiles.profile_effects import recompute
from central_api.domain.scoring.active_rules import active_rules
from central_api.domain.scoring.rules import default_rules_text
from central_api.store.db import write_transaction
from central_api.store.profile_tables import profile_aliases, profiles
from edge_sync.protocol import new_event_id
from tests.central.api.conftest import bearer

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
CONSENT = {"purpose": "profiling", "granted": True, "method": "web_form", "text_version": "v3"}


def online(type_: str, data: dict[str, Any], customer: str, day: float = 0) -> dict[str, Any]:
    at = (T0 + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"id": new_event_id(), "type": type_, "v": 1, "occurred_at": at, "channel": "web",
            "source": "shop", "customer_id": customer, "data": data}  # fmt: skip


def order(customer: str, n: int, day: float, value: float = 120.0) -> dict[str, Any]:
    return online(
        "order.placed", {"order_id": f"o-{customer}-{n}", "value": value, "items": 1}, customer, day
    )


def ingest(engine: Engine, docs: list[dict[str, Any]]) -> None:
    with engine.connect() as conn:
        rules = active_rules(conn)
    result = ingest_online(engine, docs, datetime.now(UTC), rules)
    assert not result.rejected, result.rejected


def profile_id(engine: Engine, customer: str) -> str:
    with engine.connect() as conn:
        return conn.execute(
            select(profile_aliases.c.profile_id).where(
                profile_aliases.c.kind == "customer_id", profile_aliases.c.value == customer
            )
        ).scalar_one()


def rederive(engine: Engine, pid: str) -> None:
    with write_transaction(engine) as conn:
        recompute(conn, pid, active_rules(conn), datetime.now(UTC))


def crowd(engine: Engine, n: int, seed: int = 7) -> list[str]:
    """``n`` customers with varied activity over two months, grades and consents."""
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    for i in range(n):
        c = f"C{i:03d}"
        if i % 6 != 5:  # every sixth customer never consents
            docs.append(online("consent.recorded", CONSENT, c, 0))
        for k in range(rng.randint(0, 4)):
            docs.append(order(c, k, rng.uniform(0, 60), rng.choice([40.0, 120.0, 250.0, 600.0])))
        for k in range(rng.randint(0, 3)):
            cart = {"cart_id": f"cart-{c}-{k}", "value": 80.0}
            docs.append(online("checkout.started", cart, c, rng.uniform(0, 60)))
        for k in range(rng.randint(0, 4)):
            click = {"campaign_id": "cmp-1", "message_id": f"m-{k}", "url": "https://shop/x"}
            docs.append(online("email.clicked", click, c, rng.uniform(0, 60)))
    rng.shuffle(docs)
    ingest(engine, docs)
    ids = [profile_id(engine, f"C{i:03d}") for i in range(n)]
    attributes = [{}, {"lifetime_value": 300}, {"lifetime_value": 1200, "segment": "vip"},
                  {"segment": "loyal", "distance_km": 4}]  # fmt: skip
    with write_transaction(engine) as conn:
        for i, pid in enumerate(ids):
            attrs = attributes[i % len(attributes)]
            conn.execute(update(profiles).where(profiles.c.id == pid).values(attributes=attrs))
        now, active = datetime.now(UTC), active_rules(conn)
        for pid in ids:
            recompute(conn, pid, active, now)
    return ids


def rules_text(
    version: str, *, mql: int = 40, sql: int = 80, half_life_days: float = 30.0, extra: str = ""
) -> str:
    """The default rules file with another version, thresholds, half-life and extra text."""
    text = default_rules_text().replace('version = "2026.2"', f'version = "{version}"')
    text = text.replace("score_at_least = 40", f"score_at_least = {mql}")
    text = text.replace("score_at_least = 80", f"score_at_least = {sql}")
    text = text.replace("half_life_days = 30.0", f"half_life_days = {half_life_days}")
    return text + extra


#: a threshold any consenting customer with one order crosses, whatever their grade
HOT = """
[[thresholds]]
id = "hot"
score_at_least = 20
hysteresis = 5
webhook = true
"""


def put_rules(client: TestClient, key: str, text: str) -> Any:
    return client.put(
        "/api/v1/rules",
        content=text.encode(),
        headers={**bearer(key), "Content-Type": "application/toml"},
    )


def dry_run(client: TestClient, key: str, text: str) -> Any:
    return client.post(
        "/api/v1/rules/dry-run",
        content=text.encode(),
        headers={**bearer(key), "Content-Type": "application/toml"},
    )
