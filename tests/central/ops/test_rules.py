"""Rules: read, dry run, go live; the dry run's numbers are what going live does."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from central_api.api.errors import PROBLEM_JSON
from central_api.domain.scoring.active_rules import active_rules
from central_api.domain.scoring.rules import default_rules_text
from central_api.domain.scoring.rules_store import crossing_counts
from central_api.domain.webhooks.webhooks import crossing_key
from central_api.store import make_engine
from central_api.store.ops_tables import webhook_deliveries
from central_api.store.profile_tables import profiles, score_ledger, threshold_crossings
from tests.central.api.conftest import Keys, bearer
from tests.support.waiting import wait_for

from .data import HOT, crowd, dry_run, ingest, order, profile_id, put_rules, rules_text


def crossing_keys(engine: Engine, thresholds: set[str]) -> set[str]:
    tc = threshold_crossings
    with engine.connect() as conn:
        rows = conn.execute(select(tc.c.profile_id, tc.c.threshold_id, tc.c.event_id)).all()
    return {crossing_key(*r) for r in rows if r.threshold_id in thresholds}


def test_the_builtin_rules_are_active_until_a_file_is_stored(
    client: TestClient, keys: Keys
) -> None:
    r = client.get("/api/v1/rules", headers=bearer(keys.marketer))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "builtin" and body["version"] == "2026.2"
    assert body["text"] == default_rules_text() and body["activated_at"] is None


def test_dry_run_numbers_are_what_going_live_does(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    ids = crowd(engine, 48)
    hook = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/never"}, headers=bearer(keys.admin)
    )
    assert hook.status_code == 201, hook.text
    # Lower thresholds, faster decay (so some profiles cross again), and a new threshold.
    text = rules_text("2026.3", mql=30, sql=55, half_life_days=7.0, extra=HOT)
    with engine.connect() as conn:
        before = crossing_counts(conn)
    before_keys = crossing_keys(engine, {"mql", "sql", "hot"})
    assert before.get("mql", {}).get("profiles"), "the crowd should have some MQLs already"

    r = dry_run(client, keys.admin, text)
    assert r.status_code == 200, r.text
    dry = r.json()
    assert dry["active_version"] == "2026.2" and dry["version"] == "2026.3"
    assert dry["profiles"] == sum(1 for i in range(len(ids)) if i % 6 != 5)
    rows = {t["threshold_id"]: t for t in dry["thresholds"]}
    assert set(rows) == {"mql", "sql", "hot"}
    for tid, row in rows.items():
        now = before.get(tid, {"profiles": 0, "crossings": 0})
        assert (row["crossing_now"], row["fires_now"]) == (now["profiles"], now["crossings"]), tid
    assert rows["mql"]["newly_crossing"] > 0 and rows["hot"]["would_cross"] > 0
    assert any(row["fires"] > row["would_cross"] for row in rows.values()), "no re-crossing"
    with engine.connect() as conn:  # nothing stored by a dry run
        assert active_rules(conn).scoring.version == "2026.2"

    r = put_rules(client, keys.admin, text)
    assert r.status_code == 200, r.text
    live = r.json()
    assert live["version"] == "2026.3" and live["previous_version"] == "2026.2"
    assert live["changed"] is True and live["rederived_profiles"] == len(ids)
    with engine.connect() as conn:
        after = crossing_counts(conn)
        versions = set(conn.execute(select(score_ledger.c.rules_version).distinct()).scalars())
        prof_versions = set(conn.execute(select(profiles.c.rules_version).distinct()).scalars())
        queued = set(conn.execute(select(webhook_deliveries.c.event_key)).scalars())
    for tid, row in rows.items():
        got = after.get(tid, {"profiles": 0, "crossings": 0})
        assert (got["profiles"], got["crossings"]) == (row["would_cross"], row["fires"]), tid
    assert {t["threshold_id"]: (t["profiles"], t["crossings"]) for t in live["thresholds"]} == {
        tid: (row["would_cross"], row["fires"]) for tid, row in rows.items()
    }
    assert versions == {"2026.3"} and prof_versions == {"2026.3"}
    # Crossings the new rules create are announced (and only those): the outbox hook.
    assert queued == crossing_keys(engine, {"mql", "sql", "hot"}) - before_keys
    assert queued

    r = client.get("/api/v1/rules", headers=bearer(keys.admin))
    assert r.json()["version"] == "2026.3" and r.json()["text"] == text
    assert r.json()["source"] == "stored" and r.json()["created_by"]


def test_every_process_uses_the_new_rules_from_its_next_transaction(
    client: TestClient, keys: Keys, engine: Engine, db_url: str
) -> None:
    other = make_engine(db_url)  # another central process's engine
    try:
        with other.connect() as conn:
            assert active_rules(conn).scoring.version == "2026.2"
        assert put_rules(client, keys.admin, rules_text("v-next", extra=HOT)).status_code == 200
        with other.connect() as conn:
            assert active_rules(conn).scoring.version == "v-next"
    finally:
        other.dispose()
    # Events ingested afterwards are scored under it, through the HTTP route too.
    r = client.post(
        "/api/v1/events",
        json={"events": [order("C9", 1, 0)]},
        headers=bearer(keys.integration),
    )
    assert r.status_code == 200, r.text
    pid = profile_id(engine, "C9")
    with engine.connect() as conn:
        assert (
            conn.execute(select(profiles.c.rules_version).where(profiles.c.id == pid)).scalar_one()
            == "v-next"
        )


def test_same_version_with_other_rules_is_a_conflict(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    first = rules_text("t-1", extra=HOT)
    assert put_rules(client, keys.admin, first).status_code == 200
    changed = rules_text("t-1", mql=35, extra=HOT)
    for r in (put_rules(client, keys.admin, changed), dry_run(client, keys.admin, changed)):
        assert r.status_code == 409, r.text
        assert r.headers["content-type"] == PROBLEM_JSON
        assert r.json()["type"] == "urn:omnikiosk:problem:rules-version-conflict"
        assert "t-1" in r.json()["detail"]
    # The built-in default's version is taken too.
    assert put_rules(client, keys.admin, rules_text("2026.2", mql=35)).status_code == 409
    # The same rules with other comments: the same version, nothing changes.
    ingest(engine, [order("C1", 1, 0)])
    again = put_rules(client, keys.admin, "# reformatted\n" + first)
    assert again.status_code == 200, again.text
    assert again.json()["changed"] is False and again.json()["rederived_profiles"] == 0
    # Going back to an older version re-activates it and re-derives under it.
    back = put_rules(client, keys.admin, default_rules_text())
    assert back.status_code == 200 and back.json()["changed"] is True
    assert back.json()["rederived_profiles"] == 1
    with engine.connect() as conn:
        assert active_rules(conn).scoring.version == "2026.2"
        assert conn.execute(select(func.count()).select_from(score_ledger)).scalar() == 0


def test_an_invalid_rules_file_is_a_422_naming_the_bad_key(client: TestClient, keys: Keys) -> None:
    bad_period = rules_text("t-2").replace('period = "day" }', 'period = "year" }', 1)
    cases = [
        (bad_period, "scoring.rules.0.cap.period"),
        ("version = ", "(syntax)"),
        (rules_text("t-2") + "\nsurprise = 1\n", "thresholds.1.surprise"),  # (in the last table)
        (rules_text("t-2", extra=HOT + HOT), "thresholds.3.id"),
        (
            rules_text("t-2").replace('group = "web"', 'group = "w\\u0000b"', 1),
            "scoring.rules.9.group",
        ),
    ]
    for text, field in cases:
        for r in (dry_run(client, keys.admin, text), put_rules(client, keys.admin, text)):
            assert r.status_code == 422, r.text
            assert r.headers["content-type"] == PROBLEM_JSON
            body = r.json()
            assert body["type"] == "urn:omnikiosk:problem:invalid-rules"
            assert field in {e["field"] for e in body["errors"]}, body
            assert field in body["detail"]
    for raw in (b"", b"  \n", b"\xff\xfe", b"version = '\x00'"):
        r = client.put("/api/v1/rules", content=raw, headers=bearer(keys.admin))
        assert r.status_code == 422, (raw, r.text)
    r = client.get("/api/v1/rules", headers=bearer(keys.admin))
    assert r.json()["source"] == "builtin"  # nothing was stored


def test_going_live_without_waiting_answers_at_once_and_finishes_in_the_background(
    client: TestClient, keys: Keys, engine: Engine
) -> None:
    ids = crowd(engine, 48)
    text = rules_text("2026.3", mql=30, sql=55, half_life_days=7.0, extra=HOT)
    expected = {
        t["threshold_id"]: t for t in dry_run(client, keys.admin, text).json()["thresholds"]
    }
    assert client.get("/api/v1/rules", headers=bearer(keys.marketer)).json()["stale_profiles"] == 0

    r = client.put(
        "/api/v1/rules",
        params={"wait": "false"},
        content=text.encode(),
        headers={**bearer(keys.admin), "Content-Type": "application/toml"},
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["version"] == "2026.3" and body["changed"] is True
    assert body["rederived_profiles"] == 0
    assert 0 <= body["stale_profiles"] <= len(ids)
    assert body["complete"] is (body["stale_profiles"] == 0)

    def stale() -> int:
        got = client.get("/api/v1/rules", headers=bearer(keys.marketer))
        assert got.status_code == 200, got.text
        return got.json()["stale_profiles"]

    wait_for(lambda: stale() == 0, timeout=60, message="every profile re-derived")
    wait_for(
        lambda: not any(t.name == "rederive-2026.3" for t in threading.enumerate()),
        timeout=30,
        message="the background re-derivation ends",
    )
    with engine.connect() as conn:
        after = crossing_counts(conn)
    for tid, row in expected.items():
        got = after.get(tid, {"profiles": 0, "crossings": 0})
        assert (got["profiles"], got["crossings"]) == (row["would_cross"], row["fires"]), tid


def test_wait_must_be_a_boolean(client: TestClient, keys: Keys) -> None:
    r = client.put(
        "/api/v1/rules",
        params={"wait": "soon"},
        content=rules_text("2026.4").encode(),
        headers={**bearer(keys.admin), "Content-Type": "application/toml"},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)


def test_a_rederivation_cut_short_resumes_when_central_starts(engine: Engine) -> None:
    from central_api.cli import _resume_rederive
    from central_api.domain.scoring import rules_store
    from central_api.store.db import write_transaction
    from edge_sync.protocol import utcnow

    crowd(engine, 12)
    with write_transaction(engine) as conn:  # activated, then central stopped at once
        rules_store.activate(conn, rules_text("2026.4", mql=30), "k-test", utcnow())
    with engine.connect() as conn:
        assert rules_store.stale_count(conn) == 12
    _resume_rederive(engine)

    def stale() -> int:
        with engine.connect() as conn:
            return rules_store.stale_count(conn)

    wait_for(lambda: stale() == 0, timeout=60, message="the resumed re-derivation finishes")
    wait_for(
        lambda: not any(t.name == "rederive-2026.4" for t in threading.enumerate()),
        timeout=30,
        message="the background re-derivation ends",
    )
