"""Giving freed memory back to the system between shoppers.

A session's screens free their widgets, rows and text textures when it ends, but
glibc's allocator keeps the freed heap pages mapped for the next allocation, so the
process's resident size keeps the high-water mark of every session before it.
``release()`` (called after each session reset) asks glibc to return the free pages at
the top of the heap and in its arenas (``malloc_trim(0)``); elsewhere (another C
library, another system) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_trim: Callable[[int], int] | None = None
_looked = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked
    if not _looked:
        _looked = True
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            fn = libc.malloc_trim
        except (OSError, AttributeError):
            log.debug("no malloc_trim here: freed memory stays with the allocator")
        else:
            fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
            _trim = fn
    return _trim


def release() -> bool:
    """Return the allocator's free pages to the system; True when it gave some back."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False
