"""Attribute writes racing online ingest for the same profile: no deadlock, and the stored
grade, crossings and derived attributes are what a fresh derivation gives."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from central_api.domain.online.online import ingest_online
from central_api.domain.profiles.profile_attributes import set_attributes
from central_api.domain.profiles.profile_facts import load_facts
from central_api.domain.scoring.active_rules import default_active_rules
from central_api.domain.scoring.thresholds import derive_state
from central_api.ingest import is_retryable
from central_api.store import make_engine, migrate
from central_api.store.db import write_transaction
from central_api.store.profile_tables import profile_aliases, profiles, threshold_crossings
from edge_sync.protocol import new_event_id

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def doc(type_: str, at: datetime, data: dict) -> dict:
    return {"id": new_event_id(), "type": type_, "v": 1, "occurred_at": at.isoformat(),
            "channel": "web", "source": "shop", "customer_id": "C-race", "data": data}  # fmt: skip


def test_patches_and_ingest_of_one_profile_race_cleanly(db_url: str) -> None:
    setup = make_engine(db_url)
    migrate(setup)
    rules = default_active_rules()
    consent = {"purpose": "profiling", "granted": True, "method": "web_form", "text_version": "v"}
    assert not ingest_online(setup, [doc("consent.recorded", T0, consent)], T0, rules).rejected
    with setup.connect() as c:
        pid = c.execute(
            select(profile_aliases.c.profile_id).where(profile_aliases.c.value == "C-race")
        ).scalar_one()
    errors: list[BaseException] = []
    retries = {"patch": 0, "ingest": 0}
    barrier = threading.Barrier(2)

    def patcher() -> None:
        engine = make_engine(db_url)
        try:
            barrier.wait()
            for i in range(30):
                patch = {"segment": "vip" if i % 2 else None, "distance_km": i % 12}
                while True:
                    try:
                        with write_transaction(engine) as conn:
                            set_attributes(conn, {pid: patch}, rules, T0 + timedelta(days=60))
                        break
                    except Exception as exc:
                        if not is_retryable(exc):
                            raise
                        retries["patch"] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    def ingester() -> None:
        engine = make_engine(db_url)
        try:
            barrier.wait()
            for i in range(30):
                at = T0 + timedelta(hours=7 * i)
                batch = [doc("order.placed", at, {"order_id": f"o{i}", "value": 40.0, "items": 1}),
                         doc("email.clicked", at, {"campaign_id": "c", "message_id": f"m{i}",
                                                   "url": "https://s/"})]  # fmt: skip
                while True:
                    try:
                        assert not ingest_online(engine, batch, at, rules).rejected
                        break
                    except Exception as exc:
                        if not is_retryable(exc):
                            raise
                        retries["ingest"] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=patcher), threading.Thread(target=ingester)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    assert retries["patch"] == 0, retries  # no deadlock with ingest: writers wait, in id order

    with setup.connect() as c:
        row = c.execute(select(profiles).where(profiles.c.id == pid)).one()
        stored = sorted(
            (r.threshold_id, r.event_id)
            for r in c.execute(
                select(threshold_crossings).where(threshold_crossings.c.profile_id == pid)
            )
        )
        facts = load_facts(c, pid)
    assert row.attributes == {"segment": "vip", "distance_km": 29 % 12}
    _, grade, found, stage, derived = derive_state(facts, row.attributes, rules.scoring)
    assert derived["lifetime_value"] == 30 * 40.0 and row.derived_attributes == derived
    assert (row.grade, row.lifecycle_stage) == (grade.letter, stage) == ("A+", "sql")
    assert stored == sorted((x.threshold_id, x.event_id) for x in found)
    setup.dispose()
