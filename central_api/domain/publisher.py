"""What central's publishers to the stores share: their own MQTT connection, a thread
that publishes when told (``changed``), after each connect and every ``interval_s``, and
a wait for the broker's acknowledgements (``flush``).

A subclass says what to publish in ``sync``; ``_sent`` is its record of what it last
published, forgotten on every connect (the broker may have lost its retained messages).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from sqlalchemy import Engine

from edge_sync.protocol.link import LinkOptions, MqttLink

log = logging.getLogger(__name__)


class Publisher:
    #: the link's and the thread's name; client ids are ``omk-{name}-{random}``
    name = "central-publisher"
    #: what it publishes, for the log
    what = "messages"
    #: call ``sync`` again at once while it returns more than 0 (a backlog of rows)
    drain = False

    def __init__(self, engine: Engine, opts: LinkOptions, interval_s: float) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.link = MqttLink(
            opts, on_message=lambda _m: None, on_connect=self._connected, name=self.name
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sent: dict[Any, Any] = {}
        self._inflight: list[Any] = []
        self._thread: threading.Thread | None = None
        self.published = 0

    @classmethod
    def link_options(cls, broker: Any) -> LinkOptions:
        """Its own connection: a fresh client id per process (central may run several),
        and no session to keep (what it publishes carries the state)."""
        client_id = f"omk-{cls.name}-{uuid.uuid4().hex[:12]}"
        opts = LinkOptions.from_settings(broker, client_id=client_id, clean_start=True)
        opts.session_expiry_s = 0
        return opts

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self.link.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.link.stop(timeout=timeout)

    def changed(self) -> None:
        """Something it publishes changed (committed): publish now."""
        self._wake.set()

    def sync(self) -> int:
        """Publish what is due; returns how many messages (or rows) went out."""
        raise NotImplementedError

    def _connected(self, _session_present: bool) -> None:
        with self._lock:
            self._sent.clear()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                while self.sync() > 0 and self.drain and not self._stop.is_set():
                    pass  # more rows than one round took
            except Exception:
                log.exception("%s not published; retrying in %.0fs", self.what, self.interval_s)

    def flush(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged everything published so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                self._inflight = [i for i in self._inflight if not i.is_published()]
                if not self._inflight:
                    return True
            time.sleep(0.01)
        return False
