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


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_tune_allocator_is_taken_and_large_blocks_go_back_at_once() -> None:
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                    "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]  # fmt: skip

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    assert memory.tune_allocator() is True
    # a camera frame's worth, freed and made again: with the threshold fixed it stays in
    # its own mapping (glibc's default would move the second one into the heap)
    frame = ctypes.create_string_buffer(921_600)
    mapped = libc.mallinfo2().hblkhd
    del frame
    again = ctypes.create_string_buffer(921_600)
    assert libc.mallinfo2().hblkhd >= mapped - 4096 and len(again) == 921_600
    assert libc.mallinfo2().hblkhd >= memory.MMAP_THRESHOLD
