"""Where an event's time fields come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_sync import clock


def test_boot_id_is_the_kernels_and_stable() -> None:
    proc = Path("/proc/sys/kernel/random/boot_id")
    if proc.exists():
        assert clock.boot_id() == proc.read_text().strip()
    assert clock.boot_id() == clock.boot_id() != ""


def test_monotonic_ns_moves_forward() -> None:
    a = clock.mono_ns()
    assert clock.mono_ns() >= a > 0


def test_clock_sources() -> None:
    assert clock.clock_synced("assume_synced") is True
    assert clock.clock_synced("assume_unsynced") is False
    first = clock.clock_synced("kernel")  # whatever this machine's NTP state is, a bool
    assert isinstance(first, bool) and clock.clock_synced("kernel") is first  # cached
    with pytest.raises(ValueError, match="clock source"):
        clock.clock_synced("gps")
