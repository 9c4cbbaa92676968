"""``collect_stats`` / ``format_stats``: the numbers add up."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from central_api.ingest import Incoming, Ingestor
from central_api.stats import collect_stats, format_stats
from central_api.store.tables import dead_letters, events
from edge_sync.protocol import topics

from .helpers import (
    DEVICE,
    STORE,
    at,
    batch_msg,
    count,
    event,
    events_for,
    heartbeat_msg,
    status_msg,
)


def test_stored_plus_duplicates_plus_rejected_is_what_was_sent(
    engine: Engine, ingestor: Ingestor
) -> None:
    good = events_for(range(1, 21))
    bad = events_for(range(21, 26))
    bad[0]["type"] = "no.such"
    bad[1]["data"] = {}
    bad[2]["device_id"] = "s1-k9"
    conflict = event(5)  # a new id under a stored seq
    other = events_for(range(1, 8), device="s2-k1", store="s2")
    sent = [
        batch_msg(good[:15], "b1"),
        batch_msg(good[10:] + bad, "b2"),
        batch_msg(good[:5], "b3"),  # a resend
        batch_msg([conflict], "b4"),
        batch_msg(other, "c1", device="s2-k1", store="s2"),
    ]
    events_sent = sum(len(json.loads(m.payload)["events"]) for m in sent)
    for m in sent:
        ingestor.process([m])
    ingestor.process(
        [
            Incoming(topics.events(STORE, DEVICE), b"not json"),
            status_msg({"state": "online", "version": "2.0"}, at(0)),
            heartbeat_msg(at(1), queue_depth=4),
        ]
    )

    s = collect_stats(engine, now=at(2))
    rejected = s["dead_letters"] - s["dead_letters_by_reason"]["malformed_json"]
    assert s["events_stored"] + s["duplicates_ignored"] + rejected == events_sent
    assert s["events_stored"] == count(engine, events) == 20 + 2 + 7
    assert s["duplicates_ignored"] == 5 + 5
    assert (
        s["dead_letters"]
        == count(engine, dead_letters)
        == sum(s["dead_letters_by_reason"].values())
    )
    assert s["dead_letters_by_reason"] == {
        "device_topic_mismatch": 1,
        "malformed_json": 1,
        "schema_violation": 1,
        "seq_conflict": 1,
        "unknown_type": 1,
    }
    assert s["messages"] == len(sent) + 3
    per_type = s["events_by_device_type"]
    assert sum(n for counts in per_type.values() for n in counts.values()) == s["events_stored"]
    by_device = {d["device_id"]: d for d in s["devices"]}
    assert by_device[DEVICE]["events"] == 22
    assert by_device["s2-k1"]["events"] == 7
    assert (by_device[DEVICE]["state"], by_device[DEVICE]["queue_depth"]) == ("online", 4)
    assert s["devices_by_health"] == {"online": 1, "unknown": 1}
    assert json.loads(json.dumps(s)) == s  # --json dumps it as it is

    text = format_stats(s)
    assert "events stored" in text and "29" in text
    assert "seq_conflict" in text
    assert "s2-k1" in text and "pickup.confirmed" in text


def test_stats_on_an_empty_database(engine: Engine) -> None:
    s = collect_stats(engine)
    assert (s["events_stored"], s["dead_letters"], s["devices"]) == (0, 0, [])
    assert "devices: 0 (none)" in format_stats(s)
