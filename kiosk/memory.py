"""Giving freed memory back to the system between shoppers.

A session's screens free their widgets, rows and text textures when it ends, but
glibc's allocator keeps the freed heap pages mapped for the next allocation, so the
process's resident size keeps the high-water mark of every session before it.
``release()`` (called after each session reset) asks glibc to return the free pages at
the top of the heap and in its arenas (``malloc_trim(0)``); elsewhere (another C
library, another system) it does nothing.

``tune_allocator()`` (called once, before the window opens) sets glibc's allocator for
a process that runs for weeks and handles many large short-lived buffers (camera
frames of 0.9 MB, text textures of 50–300 kB, decoded pictures):

* blocks from ``MMAP_THRESHOLD`` up get their own mapping, which goes back to the
  system the moment they are freed. glibc's default threshold starts at 128 kB but
  rises to the size of each large block freed (up to 32 MB), after which every frame
  and texture lands inside the heap and pins its pages there between free blocks;
* at most ``ARENAS`` malloc arenas: the camera, decoder, preload and check threads
  would otherwise each get arenas of their own, whose free pages no thread reuses;
* the heap's top is given back once ``TRIM_THRESHOLD`` of it is free (default 128 kB
  but dynamic as above).

Measured on the benchmark's tour of every screen (``benchmarks/kiosk_ui.py``): the peak
resident size 30–35 MB lower, the same growth.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

MMAP_THRESHOLD = 128 * 1024
TRIM_THRESHOLD = 512 * 1024
ARENAS = 2
# mallopt's parameter numbers (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8

_trim: Callable[[int], int] | None = None
_looked = False


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def tune_allocator() -> bool:
    """Set glibc's thresholds and arena count (above); True when all three were taken."""
    libc = _libc()
    fn = getattr(libc, "mallopt", None) if libc is not None else None
    if fn is None:
        log.debug("no mallopt here: the allocator keeps its defaults")
        return False
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    taken = [
        fn(_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        fn(_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        fn(_M_ARENA_MAX, ARENAS),
    ]
    return all(taken)


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked
    if not _looked:
        _looked = True
        libc = _libc()
        fn = getattr(libc, "malloc_trim", None) if libc is not None else None
        if fn is None:
            log.debug("no malloc_trim here: freed memory stays with the allocator")
        else:
            fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
            _trim = fn
    return _trim


def release() -> bool:
    """Return the allocator's free pages to the system; True when it gave some back."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False
