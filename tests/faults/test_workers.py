"""Three ingest workers sharing a subscription on PostgreSQL, each with several
transactions in flight, give the same result as one worker committing one at a time."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import create_engine, select

from benchmarks._traffic import kiosk_batches, traffic_codes
from central_api.domain.tokens.keystore import KeyStore
from central_api.store.profile_tables import profiles, score_ledger, stages_reached, touchpoints
from central_api.store.tables import device_type_counts, events
from edge_sync.protocol import topics
from tests.support import pg
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for


def scenario(key_dir) -> list[bytes]:
    """Kiosk traffic whose links carry check-in codes signed with the workers' key."""
    keys = KeyStore(key_dir, "shop.example.com")
    keys.ensure()
    return kiosk_batches(120, codes=traffic_codes(keys.signer()))


def run(
    tmp_path, broker, spawn, url: str, workers: int, batches: list[bytes], name: str,
    commit_threads: int,
) -> dict:  # fmt: skip
    procs = []
    for w in range(workers):
        cfg = tmp_path / f"{name}-{w}.toml"
        cfg.write_text(
            f'[database]\nurl = "{url}"\n[broker]\nurl = "{broker.url}"\n'
            f'[ingest]\nclient_id = "{name}-{w}"\nshare_group = "{name}"\n'
            f"commit_threads = {commit_threads}\n"
            f'[tokens]\nkey_dir = "{tmp_path / "keys"}"\n'
        )
        p = spawn(["central", "--role", "ingest", "--config", str(cfg)], name=f"{name}-{w}")
        # subscribed, not just connected: a batch published before that would be lost
        p.wait_for_log("central-ingest: subscribed", timeout=60)
        procs.append(p)
    acked: set[str] = set()
    with MqttProbe(broker.host, broker.port, client_id=f"dev-{name}") as dev:
        dev.subscribe("omk/v1/down/+/+/ack")
        for payload in batches:
            doc = json.loads(payload)
            dev.publish(topics.events(doc["store_id"], doc["device_id"]), payload)
        wait_for(
            lambda: len({json.loads(m.payload)["batch_id"] for m in dev.messages}) == len(batches),
            timeout=120,
            message="an ack for every batch",
        )
        acked = {json.loads(m.payload)["batch_id"] for m in dev.messages}
    for p in procs:
        p.terminate()
    assert len(acked) == len(batches)
    # Each worker says how much it processed; with three, the load really was split.
    processed = [
        int(re.search(r"ingest stopped: (\d+) messages", p.log_text()).group(1)) for p in procs
    ]
    assert sum(processed) == len(batches)
    assert all(n > 0 for n in processed), processed
    engine = create_engine(url)
    with engine.connect() as c:
        out = {
            "events": sorted(c.execute(select(events.c.id, events.c.seq, events.c.type)).all()),
            "counts": sorted(c.execute(select(device_type_counts)).all()),
            "profiles": sorted(
                c.execute(
                    select(
                        profiles.c.id,
                        profiles.c.grade,
                        profiles.c.lifecycle_stage,
                        profiles.c.funnel_stage,
                        profiles.c.score_raw,
                        profiles.c.score_ref_sum,
                        profiles.c.score_ref_at,
                    )
                ).all()
            ),
            "ledger": sorted(
                c.execute(
                    select(
                        score_ledger.c.profile_id,
                        score_ledger.c.event_id,
                        score_ledger.c.rule_id,
                        score_ledger.c.points,
                    )
                ).all()
            ),
            "touchpoints": sorted(c.execute(select(touchpoints)).all()),
            "stages": sorted(c.execute(select(stages_reached)).all()),
        }
    engine.dispose()
    return out


@pytest.mark.postgres
def test_three_workers_on_postgres_match_one(tmp_path, broker, spawn, pg_server_url):
    batches = scenario(tmp_path / "keys")
    with pg.temp_schema(pg_server_url) as one_url, pg.temp_schema(pg_server_url) as three_url:
        one = run(tmp_path, broker, spawn, one_url, 1, batches, "one", commit_threads=1)
        three = run(tmp_path, broker, spawn, three_url, 3, batches, "three", commit_threads=3)
    assert one["events"] and one["ledger"] and one["touchpoints"]
    assert any(t == "visit.linked" for _, _, t in one["events"])
    for key in one:
        assert three[key] == one[key], key
