"""Deterministic kiosk traffic with QR links and profiling consents (benchmarks and tests).

With ``codes`` (central's signing key, ``edge_sync.simulate.SimCodes``) the links are
``visit.linked`` v2 with real check-in codes, as central requires; without, v1 links
that name the profile, for an ``Ingestor`` that accepts them (``TokenCheck.legacy``).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

from edge_sync.protocol.tokens import Kind, Signer
from edge_sync.simulate import SimCodes, session_events

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def traffic_codes(signer: Signer) -> SimCodes:
    """Codes valid for every time ``kiosk_batches`` uses."""
    return SimCodes(signer, (T0 - timedelta(days=1)).date(), days=800)


def _link(profile: str, codes: SimCodes | None) -> tuple[str, dict, int]:
    if codes is None:
        return "visit.linked", {"profile_id": profile, "method": "qr"}, 1
    token = codes.code(Kind.PROFILE, profile)
    data = {"token": token.text, "profile_id": profile, "method": "qr", "token_kind": "p",
            "token_hash": token.token_hash}  # fmt: skip
    return "visit.linked", data, 2


def kiosk_batches(
    n_sessions: int, devices: tuple[str, ...] = ("s1-k1", "s1-k2", "s2-k1"), batch_size: int = 25,
    profiles: int = 30, seed: int = 42, codes: SimCodes | None = None,
) -> list[bytes]:  # fmt: skip
    """About 8 events a session; half the sessions are linked to one of ``profiles``."""
    rng = random.Random(seed)
    seq = dict.fromkeys(devices, 0)
    pending: dict[str, list[dict]] = {d: [] for d in devices}
    batches: list[bytes] = []
    for n in range(n_sessions):
        device = rng.choice(devices)
        t = T0 + timedelta(minutes=17 * n)
        # The session's own good scans (v2) are left out: this traffic links with
        # check-in codes of its own profiles.
        steps = [
            s
            for s in session_events(rng, "st-1")
            if s[0] not in ("visit.linked", "consent.recorded") and s[2] == 1
        ]
        if rng.random() < 0.5:
            steps.insert(1, _link(f"prof-{rng.randint(1, profiles)}", codes))
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
                    1,
                ),
            )
        for i, (type_, data, v) in enumerate(steps):
            seq[device] += 1
            pending[device].append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "seq": seq[device],
                    "type": type_,
                    "v": v,
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
