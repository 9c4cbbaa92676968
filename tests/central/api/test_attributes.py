"""Explicit attributes: ``PATCH /profiles/{id}/attributes`` and the CSV import (API and
CLI), on profiles built through the real online ingest path; thresholds the new grade
lets through fire once and queue their webhooks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from central_api.domain.webhooks.webhooks import create_webhook
from central_api.store.db import write_transaction
from central_api.store.ops_tables import webhook_deliveries
from central_api.store.profile_tables import profiles
from edge_sync.protocol import utcnow
from tests.central.api import test_auth as auth_matrix
from tests.central.api.conftest import Keys, bearer
from tests.central.api.test_cli import central
from tests.central.api.test_online_events import CONSENT, online, post, profile_of

ROUTES = [
    auth_matrix.Route("PATCH", "/api/v1/profiles/{profile_id}/attributes",
                      ("admin", "integration"), 404, {"segment": "vip"}),
    # no body: the right role gets as far as the CSV check
    auth_matrix.Route("POST", "/api/v1/profiles/attributes:import", ("admin", "integration"), 422),
]  # fmt: skip


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_auth_matrix(route, client, engine, keys) -> None:
    auth_matrix.test_route_rejects_every_bad_caller_and_admits_its_roles(
        route, client, engine, keys
    )


def shopper(client: TestClient, keys: Keys, customer: str, email: str | None = None) -> None:
    """Consent, a small order (25 + 8 points) and two email clicks (10): 43 points, well over
    the mql threshold (40); lifetime value 60 and two email events lift no grade (D)."""
    sha = hashlib.sha256(email.encode()).hexdigest() if email else None
    evs = [
        online("consent.recorded", CONSENT, customer=customer, email=sha,
               occurred_at="2026-11-20T09:00:00Z"),
        online("checkout.started", {"cart_id": f"k-{customer}", "value": 60.0}, customer=customer,
               email=sha, occurred_at="2026-11-20T09:01:00Z"),
        online("order.placed", {"order_id": f"o-{customer}", "value": 60.0, "items": 1},
               customer=customer, email=sha, occurred_at="2026-11-20T09:02:00Z"),
    ] + [
        online("email.clicked", {"campaign_id": "cmp-1", "message_id": f"m{i}", "url": "https://s/"},
               customer=customer, email=sha, channel="email", occurred_at=f"2026-11-21T09:0{i}:00Z")
        for i in range(2)
    ]  # fmt: skip
    r = post(client, keys.integration, evs)
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def webhook(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        create_webhook(conn, "http://127.0.0.1:9/hook", ["threshold.crossed"], utcnow())


def deliveries(engine: Engine) -> int:
    with engine.connect() as c:
        return c.scalar(select(func.count()).select_from(webhook_deliveries)) or 0


def patch(client: TestClient, key: str, pid: str, body: Any) -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.patch(
        f"/api/v1/profiles/{pid}/attributes",
        content=data,
        headers={**bearer(key), "Content-Type": "application/merge-patch+json"},
    )


def test_patch_moves_the_grade_and_fires_mql_once(client, keys, engine):
    webhook(engine)
    shopper(client, keys, "C-1")
    pid = profile_of(engine, "customer_id", "C-1")
    before = client.get(f"/api/v1/profiles/{pid}", headers=bearer(keys.marketer)).json()
    assert before["grade"] == "D" and before["lifecycle_stage"] is None
    assert before["derived_attributes"]["lifetime_value"] == 60.0
    assert before["derived_attributes"]["email_engagement_90d"] == 2
    assert deliveries(engine) == 0

    r = patch(client, keys.integration, pid, {"segment": "vip", "distance_km": 3})
    assert r.status_code == 200, r.text
    out = r.json()
    # D +2 (vip) +2 (within 10 km) = C+: at least C, so mql holds; sql needs B
    assert out["attributes"] == {"segment": "vip", "distance_km": 3}
    assert out["grade"] == "C+" and out["lifecycle_stage"] == "mql"
    assert [f["threshold_id"] for f in out["fired"]] == ["mql"]
    assert deliveries(engine) == 1
    # the same patch again: nothing new fires, no second webhook
    again = patch(client, keys.integration, pid, {"segment": "vip"}).json()
    assert again["fired"] == [] and deliveries(engine) == 1
    # null removes; the crossing goes with the grade, coming back does not re-announce it
    gone = patch(client, keys.integration, pid, {"segment": None, "distance_km": None}).json()
    assert gone["attributes"] == {} and gone["grade"] == "D"
    back = patch(client, keys.admin, pid, {"segment": "loyal", "distance_km": 8.5}).json()
    assert back["grade"] == "C+" and deliveries(engine) == 1
    detail = client.get(f"/api/v1/profiles/{pid}", headers=bearer(keys.marketer)).json()
    assert detail["attributes"] == {"segment": "loyal", "distance_km": 8.5}
    assert detail["grade"] == "C+" and detail["lifecycle_stage"] == "mql"


def test_patch_refuses_bad_names_values_and_bodies(client, keys, engine):
    shopper(client, keys, "C-2")
    pid = profile_of(engine, "customer_id", "C-2")
    cases: list[tuple[Any, str]] = [
        ({"distance_km": "far"}, "distance_km"),  # declared a number in the rules
        ({"segment": 3}, "segment"),  # declared a string
        ({"lifetime_value": 9000}, "lifetime_value"),  # derived: cannot be set
        ({"Bad-Name": 1}, "Bad-Name"),
        ({"x" * 65: 1}, "x" * 64),
        ({"note": "x" * 201}, "note"),
        ({"nested": {"a": 1}}, "nested"),
        ({"list": [1]}, "list"),
        ('{"n": NaN}', "n"),
        ('{"n": 1e999}', "n"),
        ('{"s": "\\ud800"}', "s"),
        ({"big": 2**60}, "big"),
        ({f"a{i}": i for i in range(65)}, "(attributes)"),
        ({f"bad-{i}": i for i in range(50_000)}, "(attributes)"),  # one error, not 50,000
    ]
    for body, field in cases:
        r = patch(client, keys.integration, pid, body)
        assert r.status_code == 422, (body, r.text)
        fields = [e["field"] for e in r.json()["errors"]]
        assert any(f.startswith(field[:60]) for f in fields), (body, fields)
        assert len(fields) <= len(body) and len(fields) <= 20
    for raw in ("[1, 2]", "not json", "[" * 100_000, '"text"'):
        r = patch(client, keys.integration, pid, raw)
        assert r.status_code == 422 and r.json()["type"].endswith("invalid-attributes"), raw
    with engine.connect() as c:
        assert c.scalar(select(profiles.c.attributes).where(profiles.c.id == pid)) == {}
    # several problems are all reported, and a good name beside them is not written
    r = patch(client, keys.integration, pid, {"segment": 1, "distance_km": "x", "ok": True})
    assert {e["field"] for e in r.json()["errors"]} == {"segment", "distance_km"}
    ok = patch(client, keys.integration, pid, {"newsletter": True, "score_bucket": -2.5})
    assert ok.status_code == 200 and ok.json()["attributes"] == {
        "newsletter": True, "score_bucket": -2.5}  # fmt: skip


def test_patch_on_unknown_and_merged_profiles(client, keys, engine):
    shopper(client, keys, "C-3")
    shopper(client, keys, "C-4")
    a, b = profile_of(engine, "customer_id", "C-3"), profile_of(engine, "customer_id", "C-4")
    r = patch(client, keys.integration, "p-nobody", {"segment": "vip"})
    assert r.status_code == 404
    assert patch(client, keys.integration, "x" * 300, {"a": 1}).status_code == 404
    m = client.post("/api/v1/profiles/merge", headers=bearer(keys.admin),
                    json={"profile_ids": [a, b], "reason": "same person"})  # fmt: skip
    survivor, merged = m.json()["survivor"], m.json()["merged"]
    r = patch(client, keys.integration, merged, {"segment": "vip"})
    assert r.status_code == 409 and survivor in r.json()["detail"]
    assert r.json()["type"] == "urn:omnikiosk:problem:profile-merged"


def csv_post(client: TestClient, key: str, text: str | bytes) -> Any:
    return client.post(
        "/api/v1/profiles/attributes:import",
        content=text if isinstance(text, bytes) else text.encode(),
        headers={**bearer(key), "Content-Type": "text/csv"},
    )


def test_csv_import_through_the_api_is_all_or_nothing(client, keys, engine):
    webhook(engine)
    shopper(client, keys, "C-5")
    shopper(client, keys, "C-6", email="ada@example.com")
    c5, c6 = profile_of(engine, "customer_id", "C-5"), profile_of(engine, "customer_id", "C-6")
    bad = (
        "customer_id,segment,distance_km,note\n"
        "C-5,vip,3,fine\n"
        "C-6,loyal,far,\n"  # line 3: not a number
        "C-5,vip\n"  # line 4: too few fields
        'C-7,vip,2,"two\nlines"\n'  # lines 5-6: fine
        "bad id!,vip,2,x\n"  # line 7
        "C-8,lifetime,1e999,x\n"  # line 8
    )
    r = csv_post(client, keys.integration, bad)
    assert r.status_code == 422, r.text
    errors = [(e["field"], e["detail"]) for e in r.json()["errors"]]
    assert errors == [
        ("line 3: distance_km", "not a number"),
        ("line 4: ", "2 fields, the header has 4"),
        ("line 7: customer_id", "not an id (1..64 of A-Z a-z 0-9 . _ : -)"),
        ("line 8: distance_km", "not a finite number"),
    ]
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(profiles)) == 2  # nothing created
        assert c.scalar(select(profiles.c.attributes).where(profiles.c.id == c5)) == {}

    good = (
        "\ufeffemail,segment,distance_km\n"  # a BOM, as spreadsheets write
        "  Ada@Example.com ,loyal,4\n"  # the online profile's hashed email
        "new@example.com,vip,12.5\n"  # never seen: a new profile
    )
    r = csv_post(client, keys.integration, good)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["profiles"], body["created"]) == (2, 2, 1)
    assert [(f["profile_id"], f["threshold_id"]) for f in body["fired"]] == [(c6, "mql")]
    assert deliveries(engine) == 1
    new = profile_of(engine, "email_sha256", hashlib.sha256(b"new@example.com").hexdigest())
    with engine.connect() as c:
        attrs = dict(c.execute(select(profiles.c.id, profiles.c.attributes)).all())
    assert attrs[c6] == {"segment": "loyal", "distance_km": 4}
    assert attrs[new] == {"segment": "vip", "distance_km": 12.5}
    # an empty cell removes; a profile id column; a header naming a derived attribute
    r = csv_post(client, keys.integration, f"profile_id,segment\n{c6},\n")
    assert r.status_code == 200 and r.json()["profiles"] == 1
    with engine.connect() as c:
        assert c.scalar(select(profiles.c.attributes).where(profiles.c.id == c6)) == {
            "distance_km": 4}  # fmt: skip
    for text, first in [
        ("", "line 1: empty file: a header is required"),
        ("segment\nvip\n", "line 1: no key column"),
        ("customer_id,lifetime_value\nC-5,1\n", "line 1: lifetime_value: derived"),
        ("profile_id,segment\np-nobody,vip\n", "line 2: profile_id: no profile p-nobody"),
        ("customer_id,email,x\n", "line 1: several key columns"),
    ]:
        r = csv_post(client, keys.integration, text)
        assert r.status_code == 422, text
        e = r.json()["errors"][0]
        assert f"{e['field']}: {e['detail']}".replace(": : ", ": ").startswith(first), e
    assert csv_post(client, keys.integration, b"customer_id\n\xff\n").status_code == 422
    with engine.connect() as c:
        assert c.scalar(select(profiles.c.attributes).where(profiles.c.id == c5)) == {}


def test_cli_import_lists_every_bad_line_and_exits_non_zero(tmp_path: Path, db_url, client,
                                                            keys, engine) -> None:  # fmt: skip
    shopper(client, keys, "C-9")
    pid = profile_of(engine, "customer_id", "C-9")
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    rows = [f"C-9,vip,{i % 40}" for i in range(1, 1500)]
    rows[1040] = "C-9,vip,far"  # line 1042 (the header is line 1)
    rows[1200] = "C-9,vip,"  # an empty cell is fine: it removes the attribute
    rows[-1] = "C-9,vip,5"  # the last row wins: within 10 km
    rows[1300] = "C-9,vip,1,extra"
    bad = tmp_path / "crm.csv"
    bad.write_text("customer_id,segment,distance_km\n" + "\n".join(rows) + "\n")
    r = central(config, "import-attributes", str(bad))
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{bad}: line 1042: distance_km: not a number" in r.stderr
    assert f"{bad}: line 1302: 4 fields, the header has 3" in r.stderr
    assert "2 bad lines; nothing was imported" in r.stderr
    with engine.connect() as c:
        assert c.scalar(select(profiles.c.attributes).where(profiles.c.id == pid)) == {}

    rows[1040], rows[1300] = "C-9,vip,far".replace("far", "7"), "C-9,vip,1"
    good = tmp_path / "crm-fixed.csv"
    good.write_text("customer_id,segment,distance_km\n" + "\n".join(rows) + "\n")
    r = central(config, "import-attributes", str(good))
    assert r.returncode == 0, r.stderr
    assert "imported 1499 rows: 1 profiles (0 new), 1 thresholds crossed" in r.stdout
    with engine.connect() as c:
        row = c.execute(select(profiles).where(profiles.c.id == pid)).one()
    assert row.attributes == {"segment": "vip", "distance_km": 5}
    assert row.lifecycle_stage == "mql"
    r = central(config, "import-attributes", str(tmp_path / "missing.csv"))
    assert r.returncode == 2 and "no such file" in r.stderr
