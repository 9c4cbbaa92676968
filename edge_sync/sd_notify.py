"""systemd's notify protocol, without a dependency: ``READY=1``, ``WATCHDOG=1`` and
``STOPPING=1`` as datagrams on the socket systemd names in ``NOTIFY_SOCKET``.

A unit with ``Type=notify`` and ``WatchdogSec=`` (``device_config/systemd/``) restarts a
process whose loop stops coming round: a hang, not only a crash. The ping is sent from
the loop itself (the edge daemon's send loop, the kiosk's Kivy clock), so a thread that
is stuck stops the pings. Without ``NOTIFY_SOCKET`` (a terminal, the tests, ``make
demo``) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and address.startswith("@"):
            address = "\0" + address[1:]  # an abstract socket
        self.address = address
        #: seconds between pings: half of what systemd allows (``WATCHDOG_USEC``)
        self.interval = _watchdog_interval(env) if address is not None else None
        self._clock = clock
        self._last_ping: float | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, message: str) -> bool:
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto(message.encode(), self.address)
        except OSError as err:
            if not self._warned:  # once: a missing socket must not flood the log
                log.warning("systemd notify socket %r: %s", self.address, err)
                self._warned = True
            return False
        return True

    def ready(self) -> bool:
        return self.send("READY=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def watchdog(self) -> bool:
        """Ping when half the watchdog interval has passed since the last ping; call it
        on every turn of the loop. True when a ping went out."""
        if self.interval is None:
            return False
        now = self._clock()
        if self._last_ping is not None and now - self._last_ping < self.interval:
            return False
        self._last_ping = now
        return self.send("WATCHDOG=1")


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of ``WATCHDOG_USEC``, when the watchdog is meant for this process."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 1e6 / 2
