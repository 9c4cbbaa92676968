"""Where an event's time fields come from: boot id, monotonic clock, and NTP sync state.

``clock_synced`` tells central whether ``occurred_at`` can be trusted as is; a device
whose clock is not synchronised marks its events so (docs/architecture.md, "Events":
central is to correct them by the device's measured offset, which is not built yet).
"""

from __future__ import annotations

import ctypes
import threading
import time
import uuid
from pathlib import Path

CLOCK_SOURCES = ("kernel", "assume_synced", "assume_unsynced")

_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
_boot_id: str | None = None

#: adjtimex(2): return value TIME_ERROR and status bit STA_UNSYNC mean "not synchronised"
_TIME_ERROR = 5
_STA_UNSYNC = 0x0040
_CACHE_S = 60.0


def boot_id() -> str:
    """The kernel's id of this boot; ``mono_ns`` values only compare within one boot id.

    Without /proc (not Linux) a random id per process stands in: monotonic time is then
    only comparable within the process, which is what a random id says.
    """
    global _boot_id
    if _boot_id is None:
        try:
            _boot_id = _BOOT_ID_FILE.read_text().strip() or uuid.uuid4().hex
        except OSError:
            _boot_id = uuid.uuid4().hex
    return _boot_id


def mono_ns() -> int:
    return time.monotonic_ns()


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>: only the leading fields are read; the padding covers
    # the rest of the struct (its size differs between architectures, ~208 bytes on x86_64).
    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 512),
    )


def _kernel_synced() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return False
    tx = _Timex()  # modes = 0: read only, needs no privileges
    state = adjtimex(ctypes.byref(tx))
    if state < 0 or state == _TIME_ERROR:
        return False
    return not (tx.status & _STA_UNSYNC)


class _KernelCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = False
        self._expires = float("-inf")

    def get(self) -> bool:
        now = time.monotonic()
        if now < self._expires:
            return self._value
        with self._lock:
            if now >= self._expires:
                self._value = _kernel_synced()
                self._expires = now + _CACHE_S
            return self._value


_kernel = _KernelCache()


def clock_synced(source: str = "kernel") -> bool:
    """Whether the wall clock is synchronised, per the device config's ``clock.source``."""
    if source == "kernel":
        return _kernel.get()
    if source == "assume_synced":
        return True
    if source == "assume_unsynced":
        return False
    raise ValueError(f"clock source must be one of {', '.join(CLOCK_SOURCES)}, got {source!r}")
