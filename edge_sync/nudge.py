"""A wake-up call from the process that enqueued an event to the sync daemon.

The kiosk and the daemon are separate processes sharing ``edge.db``. Polling alone
would add up to one poll interval to every event's trip; instead ``enqueue`` sends one
datagram (best effort, never blocking) to an abstract Unix socket named after the
database file, and the daemon wakes at once. The daemon still polls as a fallback.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path


def _address(db_path: Path) -> bytes:
    # Linux abstract namespace: no file to clean up, no path-length limit.
    digest = hashlib.sha256(str(Path(db_path).resolve()).encode()).hexdigest()[:32]
    return b"\0omnikiosk-" + digest.encode()


class Nudger:
    """Sender side, one per Outbox."""

    def __init__(self, db_path: Path) -> None:
        self._addr = _address(db_path)
        self._sock: socket.socket | None = None
        with contextlib.suppress(OSError):
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)

    def nudge(self) -> None:
        if self._sock is not None:
            # Nobody listening (daemon down), or its buffer is full: it will poll.
            with contextlib.suppress(OSError):
                self._sock.sendto(b"!", self._addr)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class NudgeListener:
    """Daemon side: calls ``on_nudge`` for every datagram, from a small thread."""

    def __init__(self, db_path: Path, on_nudge: Callable[[], None]) -> None:
        self._on_nudge = on_nudge
        self._sock: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(_address(db_path))
        except OSError:
            # Another daemon on the same file holds it (its lock would stop us anyway),
            # or no abstract sockets here: polling alone still works.
            self._sock.close()
            self._sock = None
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._sock is not None

    def start(self) -> None:
        if self._sock is not None:
            self._thread = threading.Thread(target=self._run, name="edge-nudge", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                sock.recv(64)
            except OSError:
                return  # closed
            self._on_nudge()

    def close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
