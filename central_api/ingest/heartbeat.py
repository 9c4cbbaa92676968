"""The ``heartbeat`` topic: the device's queue health, every ``heartbeat_s`` seconds."""

from __future__ import annotations

from datetime import datetime

from edge_sync.protocol import Heartbeat
from edge_sync.protocol.topics import UpTopic

from .group import SIGNALS, Group, Incoming
from .signals import BadPayload, parse_signal


def parse_heartbeat(payload: bytes) -> Heartbeat:
    return parse_signal(payload, Heartbeat)


def prepare(g: Group, msg: Incoming, t: UpTopic, at: datetime) -> None:
    sig = g.device(t)
    sig.touch(at)  # even a heartbeat central cannot read says the device is there
    try:
        hb = parse_heartbeat(msg.payload)
    except BadPayload as err:
        g.dead_message(t, msg, at, err.reason, err.detail)
        return
    g.count(SIGNALS)
    sig.heartbeats.append((at, hb))
