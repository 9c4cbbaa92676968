"""The ``cmd_result`` topic. Central sends no commands yet, so a result answers nothing
central asked: it is kept as a dead letter (``unexpected``) rather than dropped."""

from __future__ import annotations

from datetime import datetime

from edge_sync.protocol import DeadLetterReason
from edge_sync.protocol.topics import UpTopic

from .group import Group, Incoming


def prepare(g: Group, msg: Incoming, t: UpTopic, at: datetime) -> None:
    g.device(t).touch(at)
    g.dead_message(
        t, msg, at, DeadLetterReason.UNEXPECTED, "a command result, but central sent no command"
    )
