"""Fixtures for the device outbox tests: real SQLite files in tmp_path, real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_sync import Outbox
from tests.support import REPO_ROOT
from tests.support.waiting import wait_for

STORE, DEVICE = "s042", "s042-k1"

#: valid data for every registered event type
SAMPLES: dict[str, dict[str, Any]] = {
    "session.started": {"trigger": "touch"},
    "session.ended": {"reason": "done", "duration_ms": 1200},
    "product.searched": {"query": "trail shoes", "results": 12, "in_stock_results": 7},
    "product.viewed": {"sku": "SKU-1", "source": "search", "in_stock": True, "stock_qty": 3},
    "qr.scanned": {"valid": True, "kind": "p"},
    "visit.linked": {"profile_id": "p-1", "method": "qr"},
    "campaign.scanned": {"campaign_id": "c-1"},
    "pickup.confirmed": {"order_id": "o-1", "staff_id": "staff1", "items": 2, "method": "qr"},
    "pickup.refused": {"order_id": "o-1", "staff_id": "staff1", "reason": "other"},
    "consent.recorded": {
        "purpose": "marketing",
        "granted": True,
        "method": "kiosk_prompt",
        "text_version": "v1",
    },
    "survey.answered": {"context": "visit", "rating": 4, "reason": "quick", "profile_id": "p-1"},
}
ANALYTICS = [
    "session.started", "session.ended", "product.searched", "product.viewed", "survey.answered",
]  # fmt: skip
CRITICAL = [t for t in SAMPLES if t not in ANALYTICS]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / DEVICE / "edge.db"


@pytest.fixture
def make_outbox(db_path: Path) -> Iterator[Callable[..., Outbox]]:
    """``make_outbox(**overrides)`` -> an open Outbox on ``db_path``; closed at teardown."""
    made: list[Outbox] = []

    def _make(**kw: Any) -> Outbox:
        args: dict[str, Any] = {
            "store_id": STORE,
            "device_id": DEVICE,
            "max_rows": 100_000,
            "max_bytes": 64 * 2**20,
            "clock_source": "assume_synced",
        }
        args.update(kw)
        ob = Outbox(args.pop("db_path", db_path), **args)
        made.append(ob)
        return ob

    yield _make
    for ob in made:
        ob.close()


@pytest.fixture
def outbox(make_outbox: Callable[..., Outbox]) -> Outbox:
    return make_outbox()


class Child:
    """A ``python -c`` subprocess whose stdout lines are collected by a reader thread."""

    def __init__(self, code: str, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        self.popen = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            if raw.endswith(b"\n"):  # a line cut short by SIGKILL was never fully printed
                self.lines.append(raw.decode().rstrip("\n"))

    def wait_lines(self, n: int, timeout: float = 60.0) -> list[str]:
        def enough() -> bool:
            if len(self.lines) >= n:
                return True
            if self.popen.poll() is not None:
                self._reader.join(5)
                if len(self.lines) >= n:
                    return True
                raise AssertionError(f"child exited {self.popen.returncode}: {self.stderr()}")
            return False

        wait_for(enough, timeout=timeout, message=f"{n} lines from the child")
        return self.lines

    def finish(self, timeout: float = 60.0) -> list[str]:
        """Wait for a clean exit and return every line."""
        code = self.popen.wait(timeout)
        self._reader.join(10)
        assert code == 0, f"child exited {code}: {self.stderr()}"
        return self.lines

    def kill9(self) -> list[str]:
        self.popen.kill()
        self.popen.wait(30)
        self._reader.join(10)
        return self.lines

    def stderr(self) -> str:
        if self.popen.poll() is None or self.popen.stderr is None:
            return ""
        return self.popen.stderr.read().decode(errors="replace")[-2000:]


@pytest.fixture
def child() -> Iterator[Callable[..., Child]]:
    started: list[Child] = []

    def _start(code: str, *args: str) -> Child:
        c = Child(code, *args)
        started.append(c)
        return c

    yield _start
    for c in started:
        if c.popen.poll() is None:
            c.popen.kill()
            c.popen.wait(30)
        for stream in (c.popen.stdout, c.popen.stderr):
            if stream is not None:
                stream.close()


def all_rows(ob: Outbox) -> list[Any]:
    return ob.fetch(0, 1_000_000, 2**40)
