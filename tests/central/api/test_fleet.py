"""``GET /api/v1/devices`` (which device is offline or silent, and why) and
``GET /api/v1/stats``, on data that went through real ingest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.ingest import Ingestor
from central_api.stats import collect_stats
from edge_sync.protocol import utcnow
from tests.central.helpers import batch_msg, events_for, heartbeat_msg, status_msg

from .conftest import Keys, bearer

BIRTH = {"state": "online", "version": "1.4.2", "config_version": 7, "boot_id": "boot-1"}


def fleet(ingestor: Ingestor) -> None:
    """s1-k1 online, s1-k2 silent for an hour, s2-k1 offline (last will), s2-k2 heard of
    only through events (unknown), s3-k1..k5 online."""
    now = utcnow()
    hour_ago = now - timedelta(hours=1)
    msgs = [
        status_msg(BIRTH, now, "s1-k1", "s1"),
        heartbeat_msg(now, "s1-k1", "s1", queue_depth=4),
        status_msg(BIRTH, hour_ago, "s1-k2", "s1"),
        status_msg(BIRTH, hour_ago, "s2-k1", "s2"),
        status_msg({"state": "offline"}, now - timedelta(minutes=5), "s2-k1", "s2"),
        batch_msg(events_for(range(1, 4), "s2-k2", "s2"), "b1", "s2-k2", "s2", now),
    ] + [status_msg(BIRTH, now, f"s3-k{i}", "s3") for i in range(1, 6)]
    ingestor.process(msgs)


def get_all(client: TestClient, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        r = client.get("/api/v1/devices", params=q, headers=bearer(key))
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next"]
        if cursor is None:
            return items


def test_devices_say_which_is_offline_or_silent_and_why(
    client: TestClient, ingestor: Ingestor, keys: Keys
) -> None:
    fleet(ingestor)
    devs = {d["device_id"]: d for d in get_all(client, keys.admin)}
    assert list(devs) == ["s1-k1", "s1-k2", "s2-k1", "s2-k2"] + [f"s3-k{i}" for i in range(1, 6)]
    assert devs["s1-k1"]["health"] == "online" and devs["s1-k1"]["queue_depth"] == 4
    assert devs["s1-k2"]["health"] == "silent" and devs["s1-k2"]["silent"] is True
    assert "nothing received for" in devs["s1-k2"]["why"]
    assert devs["s2-k1"]["health"] == "offline" and "last will" in devs["s2-k1"]["why"]
    assert devs["s2-k2"]["health"] == "unknown" and devs["s2-k2"]["why"]
    assert devs["s1-k1"]["version"] == "1.4.2" and devs["s1-k1"]["config_version"] == 7
    stamp = devs["s1-k1"]["last_seen_at"]
    assert stamp.endswith("Z") and len(stamp) == len("2026-11-23T10:15:02.118Z")

    silent = client.get("/api/v1/devices", params={"health": "silent"}, headers=bearer(keys.admin))
    assert [d["device_id"] for d in silent.json()["items"]] == ["s1-k2"]
    s2 = get_all(client, keys.admin, store_id="s2")
    assert [d["device_id"] for d in s2] == ["s2-k1", "s2-k2"]


def test_devices_pages_cover_the_fleet_once(
    client: TestClient, ingestor: Ingestor, keys: Keys
) -> None:
    fleet(ingestor)
    for limit in (1, 2, 4, 9, 10, 500):
        got = [d["device_id"] for d in get_all(client, keys.admin, limit=limit)]
        assert len(got) == len(set(got)) == 9, limit
    first = client.get("/api/v1/devices", params={"limit": 9}, headers=bearer(keys.admin)).json()
    assert len(first["items"]) == 9 and first["next"] is None

    # a device appearing between two pages is neither skipped nor repeated before it
    page = client.get("/api/v1/devices", params={"limit": 3}, headers=bearer(keys.admin)).json()
    ingestor.process([status_msg(BIRTH, utcnow(), "s0-k1", "s0")])  # sorts before the cursor
    rest = get_all(client, keys.admin, limit=3, cursor=page["next"])
    ids = [d["device_id"] for d in page["items"] + rest]
    assert len(ids) == len(set(ids)) == 9 and "s0-k1" not in ids


def test_stats_for_marketers_match_collect_stats(
    client: TestClient, engine: Engine, ingestor: Ingestor, keys: Keys
) -> None:
    fleet(ingestor)
    r = client.get("/api/v1/stats", headers=bearer(keys.marketer))
    assert r.status_code == 200
    body = r.json()
    expected = collect_stats(engine)
    for doc in (body, expected):
        del doc["generated_at"]
        for d in doc["devices"]:
            del d["why"]  # "nothing received for 3600 s" ticks between the two reads
    assert body == expected
    assert body["events_stored"] == 3
    assert body["devices_by_health"] == {"offline": 1, "online": 6, "silent": 1, "unknown": 1}
