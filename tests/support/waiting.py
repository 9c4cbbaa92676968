"""Wait for a condition with a deadline instead of sleeping for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class StopWaiting(AssertionError):
    """Raised by a predicate to give up at once (e.g. the process it waits on died)."""


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.02,
    message: str = "",
) -> T:
    """Call ``predicate`` until it returns something truthy and return that value.

    Exceptions raised by the predicate count as "not yet" (a file not written
    yet, a connection refused); the last one is chained to the AssertionError
    raised when ``timeout`` seconds pass. A predicate raises StopWaiting to fail
    at once instead.
    """
    deadline = time.monotonic() + timeout
    last_value: object = None
    last_exc: Exception | None = None
    while True:
        try:
            value = predicate()
        except StopWaiting:
            raise
        except Exception as exc:
            last_exc = exc
        else:
            if value:
                return value
            last_value, last_exc = value, None
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    what = message or getattr(predicate, "__qualname__", repr(predicate))
    detail = (
        f"last exception: {last_exc!r}" if last_exc is not None else f"last value: {last_value!r}"
    )
    raise AssertionError(f"timed out after {timeout}s waiting for {what} ({detail})") from last_exc
