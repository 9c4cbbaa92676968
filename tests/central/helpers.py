"""Building wire messages and reading central's tables back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from central_api.ingest import Incoming, Outgoing
from central_api.store.tables import dead_letters, device_type_counts, devices, events
from edge_sync.protocol import Ack, new_event_id, topics

STORE, DEVICE = "s1", "s1-k1"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

DATA = {
    "product.searched": {"query": "blue shoes", "results": 12, "in_stock_results": 3},
    "pickup.confirmed": {"order_id": "o-1", "staff_id": "st-1", "items": 2, "method": "qr"},
    "session.started": {"trigger": "touch"},
}


def event(
    seq: int, type_: str = "product.searched", device: str = DEVICE, store: str = STORE, **over: Any
) -> dict[str, Any]:
    ev = {
        "id": new_event_id(),
        "seq": seq,
        "type": type_,
        "v": 1,
        "store_id": store,
        "device_id": device,
        "occurred_at": "2026-11-23T10:15:02.118Z",
        "mono_ns": seq * 1000,
        "boot_id": "boot-1",
        "clock_synced": True,
        "session_id": "sess-1",
        "data": dict(DATA.get(type_, {})),
    }
    ev.update(over)
    return ev


def events_for(
    seqs: range | list[int],
    device: str = DEVICE,
    store: str = STORE,
    types: tuple[str, ...] = ("product.searched", "pickup.confirmed"),
) -> list[dict]:
    return [event(s, types[s % len(types)], device, store) for s in seqs]


def batch_msg(
    evs: list[dict],
    batch_id: str = "b1",
    device: str = DEVICE,
    store: str = STORE,
    at: datetime | None = None,
    **over: Any,
) -> Incoming:
    doc = {"batch_id": batch_id, "device_id": device, "store_id": store, "events": evs}
    doc.update(over)
    return Incoming(topics.events(store, device), json.dumps(doc).encode(), at)


def status_msg(
    doc: dict | bytes, at: datetime, device: str = DEVICE, store: str = STORE
) -> Incoming:
    payload = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Incoming(topics.status(store, device), payload, at)


def heartbeat_msg(
    at: datetime, device: str = DEVICE, store: str = STORE, **fields: Any
) -> Incoming:
    doc = {"at": at.isoformat(), **fields}
    return Incoming(topics.heartbeat(store, device), json.dumps(doc).encode(), at)


def acks(out: list[Outgoing]) -> list[tuple[str, Ack]]:
    return [(o.topic, Ack.model_validate_json(o.payload)) for o in out]


def only_ack(out: list[Outgoing]) -> Ack:
    assert len(out) == 1, out
    assert out[0].topic == topics.ack(STORE, DEVICE)
    return Ack.model_validate_json(out[0].payload)


def stored_seqs(engine: Engine, device: str = DEVICE) -> list[int]:
    with engine.connect() as conn:
        q = select(events.c.seq).where(events.c.device_id == device).order_by(events.c.seq)
        return list(conn.scalars(q))


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table)) or 0


def dead(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(select(dead_letters).order_by(dead_letters.c.id)).mappings()
        ]


def type_counts(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return {(r.device_id, r.type): r.count for r in conn.execute(select(device_type_counts))}


def device_row(engine: Engine, device: str = DEVICE) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(devices).where(devices.c.device_id == device)).mappings().one()
        return dict(row)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
