"""The ``status`` topic: the device's retained birth message and its last will."""

from __future__ import annotations

import json
from datetime import datetime

from edge_sync.protocol import DeadLetterReason, Status, wirejson
from edge_sync.protocol.envelope import MAX_DB_RECOVERED_BYTES, MAX_DB_RECOVERED_DEPTH
from edge_sync.protocol.topics import UpTopic

from .group import SIGNALS, Group, Incoming
from .signals import BadPayload, parse_signal


def parse_status(payload: bytes) -> Status:
    status = parse_signal(payload, Status)
    recovered = status.db_recovered
    if recovered is not None:
        # kept as JSON on the device's row and shown by the devices API: bounded
        if wirejson.depth_over(recovered, MAX_DB_RECOVERED_DEPTH):
            raise BadPayload(
                DeadLetterReason.TOO_DEEP,
                f"db_recovered: nests deeper than {MAX_DB_RECOVERED_DEPTH} levels",
            )
        try:
            size = len(json.dumps(recovered, allow_nan=False).encode())
        except ValueError:
            raise BadPayload(
                DeadLetterReason.OUT_OF_RANGE, "db_recovered: holds a number that is not finite"
            ) from None
        if size > MAX_DB_RECOVERED_BYTES:
            raise BadPayload(
                DeadLetterReason.OVERSIZE,
                f"db_recovered: {size} bytes as JSON, limit {MAX_DB_RECOVERED_BYTES}",
            )
    return status


def prepare(g: Group, msg: Incoming, t: UpTopic, at: datetime) -> None:
    if not msg.payload:
        g.count(SIGNALS)  # the retained status being cleared: nothing else to record
        return
    sig = g.device(t)
    try:
        status = parse_status(msg.payload)
    except BadPayload as err:
        sig.touch(at)
        g.dead_message(t, msg, at, err.reason, err.detail)
        return
    g.count(SIGNALS)
    # A last will is published by the broker, not by the device: not a sign of life.
    sig.touch(at, seen=status.state == "online")
    sig.statuses.append((at, status))
