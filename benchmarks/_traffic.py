"""Deterministic kiosk traffic with QR links and profiling consents (benchmarks and tests)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

from edge_sync.simulate import session_events

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def kiosk_batches(
    n_sessions: int, devices: tuple[str, ...] = ("s1-k1", "s1-k2", "s2-k1"), batch_size: int = 25,
    profiles: int = 30, seed: int = 42,
) -> list[bytes]:  # fmt: skip
    """About 8 events a session; half the sessions are linked to one of ``profiles``."""
    rng = random.Random(seed)
    seq = dict.fromkeys(devices, 0)
    pending: dict[str, list[dict]] = {d: [] for d in devices}
    batches: list[bytes] = []
    for n in range(n_sessions):
        device = rng.choice(devices)
        t = T0 + timedelta(minutes=17 * n)
        steps = [
            s
            for s in session_events(rng, "st-1")
            if s[0] not in ("visit.linked", "consent.recorded")
        ]
        if rng.random() < 0.5:
            steps.insert(
                1,
                (
                    "visit.linked",
                    {"profile_id": f"prof-{rng.randint(1, profiles)}", "method": "qr"},
                ),
            )
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
                    "session_id": f"sess-{n}",
                    "data": data,
                }
            )
            if len(pending[device]) == batch_size:
                batches.append(batch(device, pending[device]))
                pending[device] = []
    batches += [batch(d, evs) for d, evs in pending.items() if evs]
    return batches


def batch(device: str, evs: list[dict]) -> bytes:
    doc = {"batch_id": uuid.uuid4().hex, "device_id": device, "store_id": device[:2], "events": evs}
    return json.dumps(doc).encode()


def event_count(batches: list[bytes]) -> int:
    return sum(len(json.loads(b)["events"]) for b in batches)
