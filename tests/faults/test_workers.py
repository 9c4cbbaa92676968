"""Three ingest workers sharing a subscription on PostgreSQL give the same result as one."""

from __future__ import annotations

import json
import random
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select

from central_api.store.profile_tables import profiles, score_ledger, stages_reached, touchpoints
from central_api.store.tables import device_type_counts, events
from edge_sync.protocol import topics
from edge_sync.simulate import session_events
from tests.support import pg
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def scenario(n_sessions: int = 120) -> list[bytes]:
    """Deterministic kiosk traffic from 3 devices, with QR links and profiling consents."""
    rng = random.Random(42)
    batches: list[bytes] = []
    seq = {d: 0 for d in ("s1-k1", "s1-k2", "s2-k1")}
    pending: dict[str, list[dict]] = {d: [] for d in seq}
    for n in range(n_sessions):
        device = rng.choice(sorted(seq))
        session = f"sess-{n}"
        t = T0 + timedelta(minutes=17 * n)
        steps = list(session_events(rng, "st-1"))
        if rng.random() < 0.5:
            profile = f"prof-{rng.randint(1, 30)}"
            steps.insert(1, ("visit.linked", {"profile_id": profile, "method": "qr"}))
            steps.insert(
                2,
                (
                    "consent.recorded",
                    {
                        "purpose": "profiling",
                        "granted": True,
                        "method": "kiosk_prompt",
                        "text_version": "v1",
                    },
                ),
            )
        for i, (type_, data) in enumerate(steps):
            if type_ == "visit.linked" and "token_kind" in data and i > 2:
                continue  # the simulator's own link: keep one link per session
            seq[device] += 1
            pending[device].append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "seq": seq[device],
                    "type": type_,
                    "v": 1,
                    "store_id": device[:2],
                    "device_id": device,
                    "occurred_at": (t + timedelta(seconds=20 * i)).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"
                    ),
                    "mono_ns": i,
                    "boot_id": "b",
                    "clock_synced": True,
                    "session_id": session,
                    "data": data,
                }
            )
            if len(pending[device]) == 25:
                batches.append(_batch(device, pending[device]))
                pending[device] = []
    batches += [_batch(d, evs) for d, evs in pending.items() if evs]
    return batches


def _batch(device: str, evs: list[dict]) -> bytes:
    return json.dumps(
        {"batch_id": uuid.uuid4().hex, "device_id": device, "store_id": device[:2], "events": evs}
    ).encode()


def run(tmp_path, broker, spawn, url: str, workers: int, batches: list[bytes], name: str) -> dict:
    procs = []
    for w in range(workers):
        cfg = tmp_path / f"{name}-{w}.toml"
        cfg.write_text(
            f'[database]\nurl = "{url}"\n[broker]\nurl = "{broker.url}"\n'
            f'[ingest]\nclient_id = "{name}-{w}"\nshare_group = "{name}"\n'
        )
        p = spawn(["central", "--role", "ingest", "--config", str(cfg)], name=f"{name}-{w}")
        p.wait_for_log("connected to", timeout=60)
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
    batches = scenario()
    with pg.temp_schema(pg_server_url) as one_url, pg.temp_schema(pg_server_url) as three_url:
        one = run(tmp_path, broker, spawn, one_url, 1, batches, "one")
        three = run(tmp_path, broker, spawn, three_url, 3, batches, "three")
    assert one["events"] and one["ledger"] and one["touchpoints"]
    for key in one:
        assert three[key] == one[key], key
