"""Time for the controllers, injected so tests (and the scripted demo) drive it.

``monotonic`` times the idle timers (never jumps when NTP steps the wall clock);
``time``/``now`` are wall time, for what is shown ("offline since 14:02") and for
what must survive a restart (the staff PIN lock-out).
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return _time.monotonic()

    def time(self) -> float:
        return _time.time()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (``advance``): both kinds of time together."""

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 6, 1, 12, tzinfo=UTC)
        self._mono = 1000.0

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += timedelta(seconds=seconds)

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall.timestamp()

    def now(self) -> datetime:
        return self._wall
