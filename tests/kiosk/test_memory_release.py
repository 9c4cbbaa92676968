"""``kiosk.memory.release`` gives the heap's free pages back to the system (glibc)."""

from __future__ import annotations

import platform

import pytest

from kiosk import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_returns_freed_heap_pages() -> None:
    held = [bytearray(4000) for _ in range(20_000)]  # malloc's heap, not Python's arenas
    del held[::2]  # every other block free: whole free pages inside the heap
    assert memory.release() is True
    del held
