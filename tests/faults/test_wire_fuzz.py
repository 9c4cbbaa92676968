"""A fuzzer on the wire: hostile messages from a raw MQTT client into a real central.

Hypothesis generates batches with broken events (nesting thousands deep, integers past
64 bits, floats and booleans where integers belong, lone surrogates, bytes that are not
UTF-8, NULs, oversize events, duplicate and conflicting seqs), messages of thousands of
tiny bad events, oversize messages, binary garbage, JSON that is not an object, status
and heartbeat messages with the same kinds of values, and wrong topics. Afterwards:

* central is alive, and a good batch is still acked in full;
* every message central subscribes to is counted, and ends as exactly one of: a
  whole-message dead letter, a batch answered event by event (each event stored,
  duplicate or rejected), or a status/heartbeat applied — nothing lost; every batch
  that carries a readable batch_id got its ack;
* the dead-letter rows are what the counters say, and bounded per message;
* central's resident memory grew by a bounded amount.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from central_api.ingest import MAX_DEAD_LETTERS_PER_MESSAGE
from edge_sync.protocol import MAX_BATCH_BYTES, new_event_id, topics
from tests.faults.harness import Spine
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

STORE = "fz"
DEVICES = ("fz-k1", "fz-k2", "fz-k3")
GOOD_DEVICE = "fz-good"
#: what central's resident memory may grow by over the whole run
RSS_GROWTH_LIMIT = 150 * 1024 * 1024

# Raw JSON spliced in where a value goes: what json.dumps would not write.
RAW_VALUES = [
    b"[" * 40 + b"]" * 40,  # readable, over an event's 32 levels
    b"[" * 300 + b"]" * 300,  # over the fast parser's limit
    b"[" * 50_000 + b"]" * 50_000,  # RecursionError in Python's json
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'"\\ud800"',
    b'"x\\udc00y"',
    b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8 bytes
    b'"caf\xe9"',  # Latin-1
    b"7" * 5000,  # more digits than Python reads
    b"Infinity",
    b"NaN",
    b"-0",
    b"1e999",
    b'"nul \\u0000 inside"',
]
ODD_VALUES: list[Any] = [
    2**63,
    2**63 - 1,
    2**64,
    -(2**63) - 1,
    -1,
    0,
    3.0,
    1.5,
    True,
    False,
    None,
    "7",
    "",
    "x" * 300,
    "\x00",
    "a\x00b",
    "\ud800",
    [],
    {},
    {"nested": [1, {"deeper": None}]},
]
ENVELOPE_KEYS = [
    "id", "seq", "type", "v", "store_id", "device_id", "occurred_at", "mono_ns", "boot_id",
    "clock_synced", "session_id", "data",
]  # fmt: skip
DATA = {"query": "tent", "results": 3, "in_stock_results": 1}
HEARTBEAT_KEYS = [
    "at", "queue_depth", "queue_bytes", "oldest_unsent_age_s", "evicted_total", "dead_letters",
    "disk_free_bytes", "uptime_s", "heartbeat_s", "version", "boot_id", "config_version",
    "clock_synced", "inflight_batches", "extra",
]  # fmt: skip
STATUS_KEYS = ["state", "reason", "version", "boot_id", "config_version", "db_recovered", "at"]


class Raw:
    """A placeholder for a raw JSON fragment, spliced in after ``json.dumps``."""

    counter = itertools.count()

    def __init__(self, fragment: bytes) -> None:
        self.fragment = fragment
        self.mark = f"@@raw{next(Raw.counter)}@@"


def dump(doc: Any) -> bytes:
    """``doc`` as JSON, each ``Raw`` replaced by its fragment."""
    raws: list[Raw] = []

    def default(o: Any) -> Any:
        if isinstance(o, Raw):
            raws.append(o)
            return o.mark
        raise TypeError(type(o))

    out = json.dumps(doc, default=default).encode()
    for r in raws:
        out = out.replace(json.dumps(r.mark).encode(), r.fragment)
    return out


values = st.one_of(st.sampled_from(ODD_VALUES), st.sampled_from(RAW_VALUES).map(Raw))


@st.composite
def hostile_event(draw: st.DrawFn, device: str) -> Any:
    ev: dict[Any, Any] = {
        "id": new_event_id(),
        "seq": draw(st.integers(1, 60)),
        "type": "product.searched",
        "v": 1,
        "store_id": STORE,
        "device_id": device,
        "occurred_at": "2026-11-23T10:00:00.000Z",
        "mono_ns": 5,
        "boot_id": "fz",
        "clock_synced": True,
        "session_id": None,
        "data": dict(DATA),
    }
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from(["envelope", "data", "data", "key", "drop", "pad"]))
        if where != "envelope" and not isinstance(ev.get("data"), dict):
            continue  # data itself was replaced or dropped
        if where == "envelope":
            ev[draw(st.sampled_from(ENVELOPE_KEYS))] = draw(values)
        elif where == "data":
            ev["data"][draw(st.sampled_from(["query", "results", "surprise"]))] = draw(values)
        elif where == "key":
            ev["data"][draw(st.sampled_from(["\ud800", "k\x00", "é"]))] = 1
        elif where == "drop":
            ev.pop(draw(st.sampled_from(ENVELOPE_KEYS)), None)
        else:
            ev["data"]["query"] = "p" * draw(st.sampled_from([100, 17_000]))
    return ev


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, Any]:
    device = draw(st.sampled_from(DEVICES))
    evs = draw(st.lists(hostile_event(device), max_size=8))
    doc: dict[str, Any] = {"batch_id": "@@id@@", "device_id": device, "store_id": STORE}
    doc["events"] = evs
    header = draw(st.sampled_from([None, None, None, "batch_id", "device_id", "extra", "events"]))
    if header is not None:
        doc[header] = draw(values)
    return topics.events(STORE, device), doc


def tiny_bad(n: int) -> Raw:
    """n events too small to be valid: the amplification case."""
    return Raw(b"[" + b",".join(b'{"seq":%d}' % s for s in range(1, n + 1)) + b"]")


@st.composite
def signals(draw: st.DrawFn) -> tuple[str, Any]:
    device = draw(st.sampled_from(DEVICES))
    if draw(st.booleans()):
        doc: dict[str, Any] = {"at": "2026-11-23T10:00:00Z", "queue_depth": 1, "heartbeat_s": 5}
        keys, topic = HEARTBEAT_KEYS, topics.heartbeat(STORE, device)
    else:
        doc = {"state": draw(st.sampled_from(["online", "offline"])), "version": "fz"}
        keys, topic = STATUS_KEYS, topics.status(STORE, device)
    for _ in range(draw(st.integers(0, 2))):
        doc[draw(st.sampled_from(keys))] = draw(values)
    return topic, doc


#: legal MQTT topics that central subscribes to, naming no valid device
BAD_TOPICS = [
    "omk/v1/up/FZ/Bad Id/events",
    "omk/v1/up//fz-k1/events",
    "omk/v1/up/fz/ünïcode/heartbeat",
    "omk/v1/up/fz/" + "k" * 200 + "/status",
    "omk/v1/up/fz/../events",
]
topic_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="/+#"),
    min_size=0,
    max_size=20,
)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(kind, topic, payload or document)."""
    kind = draw(
        st.sampled_from(
            ["batch"] * 6 + ["signal"] * 3 + ["garbage", "scalar", "topic", "tiny", "oversize"]
        )
    )
    if kind == "batch":
        return (kind, *draw(batches()))
    if kind == "signal":
        return (kind, *draw(signals()))
    device = draw(st.sampled_from(DEVICES))
    if kind == "garbage":
        return kind, topics.events(STORE, device), draw(st.binary(max_size=300))
    if kind == "scalar":
        topic = draw(st.sampled_from([topics.events, topics.heartbeat, topics.status]))
        payload = draw(st.sampled_from([b"null", b"[]", b"{}", b"1", b'"x"', b"\xff", b"[1,]"]))
        return kind, topic(STORE, device), payload
    if kind == "topic":
        level = draw(topic_text)
        return kind, draw(st.sampled_from([*BAD_TOPICS, f"omk/v1/up/{level}/x/events"])), b"{}"
    if kind == "tiny":
        n = draw(st.sampled_from([MAX_DEAD_LETTERS_PER_MESSAGE + 5, 1000, 19_000]))
        doc = {"batch_id": "@@id@@", "device_id": device, "store_id": STORE, "events": tiny_bad(n)}
        return kind, topics.events(STORE, device), doc
    padding = b" " * (MAX_BATCH_BYTES + 1000)
    return kind, topics.events(STORE, device), b'{"batch_id": "x", "events": [' + padding + b"]}"


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def good_batch(batch_id: str, seqs: range) -> bytes:
    evs = [
        {
            "id": new_event_id(), "seq": s, "type": "product.searched", "v": 1,
            "store_id": STORE, "device_id": GOOD_DEVICE, "occurred_at": "2026-11-23T10:00:00.000Z",
            "mono_ns": s, "boot_id": "b", "clock_synced": True, "session_id": None, "data": DATA,
        }
        for s in seqs
    ]  # fmt: skip
    doc = {"batch_id": batch_id, "device_id": GOOD_DEVICE, "store_id": STORE, "events": evs}
    return json.dumps(doc).encode()


def test_hostile_messages_on_the_wire_are_each_accounted_for(spine_any_db: Spine) -> None:
    s = spine_any_db
    central = s.start_central()
    assert central.pid is not None
    sent: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    expect_acks: set[str] = set()
    ids = itertools.count()
    with MqttProbe(s.broker.host, s.broker.port, client_id="fuzzer") as probe:
        probe.subscribe(f"omk/v1/down/{STORE}/+/ack")

        def acked_ids() -> set[str]:
            out = set()
            for m in list(probe.messages):
                batch_id = json.loads(m.payload)["batch_id"]
                if batch_id is not None:
                    out.add(batch_id)
            return out

        def publish(topic: str, payload: bytes) -> None:
            probe.publish(topic, payload, qos=1)
            if any(mqtt.topic_matches_sub(f, topic) for f in topics.central_filters()):
                sent["messages"] += 1

        # warm up: central has imported, connected and answered once
        publish(topics.events(STORE, GOOD_DEVICE), good_batch("warm", range(1, 11)))
        wait_for(lambda: "warm" in acked_ids(), 30, message="the warm-up ack")
        before = rss(central.pid)
        history: list[tuple[str, bytes, str]] = []
        #: how often each batch id went out: a resend is a second message with the same id
        copies: Counter[str] = Counter()

        @settings(
            max_examples=150,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(st.lists(messages(), min_size=1, max_size=3), st.booleans())
        def send(batch: list[tuple[str, str, Any]], resend: bool) -> None:
            if resend and history:  # a device resending: duplicates, acked again
                kinds["resend"] += 1
                topic, payload, resent_id = history[-1]
                publish(topic, payload)
                copies[resent_id] += 1
            for kind, topic, doc in batch:
                kinds[kind] += 1
                batch_id = f"fz-{next(ids)}"
                if isinstance(doc, bytes):
                    payload = doc
                else:
                    plain_id = doc.get("batch_id") == "@@id@@"
                    if plain_id:
                        doc = {**doc, "batch_id": batch_id}
                    payload = dump(doc)
                    if plain_id and len(payload) <= MAX_BATCH_BYTES:
                        expect_acks.add(batch_id)  # central can read its id: it must answer
                publish(topic, payload)
                copies[batch_id] += 1
                sent["payload_bytes"] += len(payload)
                if kind == "batch":
                    history.append((topic, payload, batch_id))
            # topics central does not subscribe to reach nothing and break nothing
            probe.publish(topics.up(STORE, DEVICES[0], "cmd_result"), b"\xff", qos=1)

        send()

        def counted() -> dict[str, int]:
            return counters(s)

        wait_for(
            lambda: counted().get("messages", 0) >= sent["messages"],
            timeout=90,
            interval=0.2,
            message=f"central to count {sent['messages']} messages",
        )
        # Still alive, and a good batch still goes through whole.
        assert central.alive, central.log_tail()
        publish(topics.events(STORE, GOOD_DEVICE), good_batch("after", range(11, 31)))
        wait_for(lambda: "after" in acked_ids(), 30, message="the ack of a good batch")
        after_ack = next(m for m in probe.messages if json.loads(m.payload)["batch_id"] == "after")
        assert json.loads(after_ack.payload)["acked"] == [[11, 30]]
        missing = expect_acks - acked_ids()
        assert not missing, f"{len(missing)} batches got no ack, e.g. {sorted(missing)[:5]}"
        growth = rss(central.pid) - before

    c = counted()
    with s._engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()
        truncated = conn.execute(
            text("SELECT count(*) FROM dead_letters WHERE reason = 'truncated'")
        ).scalar_one()
        per_batch_id = conn.execute(
            text(
                "SELECT batch_id, count(*) FROM dead_letters"
                " WHERE batch_id LIKE 'fz-%' GROUP BY batch_id"
            )
        ).all()
    lost = c["messages"] - (c["messages_dead_lettered"] + c["batches"] + c["signals"])
    summary = {
        "sent": sent["messages"],
        "bytes": sent["payload_bytes"],
        "stored": c["events_stored"],
        "duplicates": c["duplicates_ignored"],
        "dead_letter_rows": rows,
        "folded": c["rejections_folded"],
        "lost": lost,
        "rss_growth_mb": round(growth / 2**20, 1),
        "kinds": dict(kinds),
    }
    print(f"wire fuzz: {summary}")
    assert c["messages"] == sent["messages"], summary
    assert lost == 0, summary
    assert c["events_received"] == (
        c["events_stored"] + c["duplicates_ignored"] + c["events_rejected"]
    ), c
    assert c["dead_letters"] == rows, (c, rows)
    assert rows == (
        c["messages_dead_lettered"] + c["events_rejected"] - c["rejections_folded"] + truncated
    ), (c, rows, truncated)
    # at most the cap plus one folded row per message; a resent batch is one more message
    over = {b: n for b, n in per_batch_id if n > (MAX_DEAD_LETTERS_PER_MESSAGE + 1) * copies[b]}
    assert not over, over
    assert growth < RSS_GROWTH_LIMIT, summary


def counters(s: Spine) -> dict[str, int]:
    with s._engine.connect() as conn:
        try:
            rows = conn.execute(text("SELECT name, value FROM ingest_counters")).all()
        except Exception:
            return {}
    return Counter({name: int(value) for name, value in rows})
