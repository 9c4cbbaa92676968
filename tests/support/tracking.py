"""Registry of everything the support code started, so nothing outlives the run.

The pytest plugin uses it to attach the logs of the processes a failed test
started, and to kill leftovers at session end; ``atexit`` is the backstop.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Protocol


class Tracked(Protocol):
    @property
    def needs_cleanup(self) -> bool: ...

    def describe(self) -> str: ...

    def log_tail(self, n: int = 80) -> str: ...

    def kill_quietly(self) -> None: ...


started: list[Tracked] = []


def register(obj: Tracked) -> None:
    if obj not in started:
        started.append(obj)


def kill_leftovers() -> list[str]:
    """Kill everything still running; returns the descriptions of what was killed."""
    killed = []
    for obj in started:
        if obj.needs_cleanup:
            killed.append(obj.describe())
            obj.kill_quietly()
    return killed


def tail_lines(path: Path, n: int) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"<{path} does not exist>"
    return "\n".join(lines[-n:])


atexit.register(kill_leftovers)
