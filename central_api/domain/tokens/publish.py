"""Pushing the public keys and the revocation list to every kiosk, retained on
``omk/v1/down/all/keys``, so that a device that connects later (or was offline when
they changed) gets the current ones at once.

Keys change in another process (``central keys rotate``) and revocations in any
central process (an erasure through the API), so the publisher looks every few seconds
and publishes when what it finds differs from what it last published, and again after
every reconnect. Several central processes may each run one: they publish the same
document, and the broker keeps the last.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from central_api.store.db import write_transaction
from edge_sync.protocol import topics
from edge_sync.protocol.link import MqttLink, NotConnected
from edge_sync.protocol.tokens import KeysMessage, keys_message

from .check import KeyringFile
from .revocations import in_force, prune

log = logging.getLogger(__name__)


class KeysPublisher:
    def __init__(
        self, engine: Engine, keyring: KeyringFile, link: MqttLink, interval_s: float = 2.0
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.link = link
        self.interval_s = interval_s
        self.published = 0
        self._last: tuple[str, int] | None = None  # (content hash, link.connects)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_on: date | None = None

    def build(self, now: datetime | None = None) -> KeysMessage:
        now = now or datetime.now(UTC)
        if self._pruned_on != now.date():  # once a day: revocations no code outlives
            with write_transaction(self.engine) as conn:
                prune(conn, now.date())
            self._pruned_on = now.date()
        with self.engine.connect() as conn:
            revoked = in_force(conn, now.date())
        return keys_message(self.keyring(), revoked, now)

    def tick(self) -> bool:
        """Publish if anything changed or the link reconnected; True when it published."""
        msg = self.build()
        content = msg.model_dump_json(exclude={"issued_at"}).encode()
        state = (hashlib.sha256(content).hexdigest(), self.link.connects)
        if state == self._last or not self.link.connected:
            return False
        try:
            self.link.publish(topics.KEYS, msg.model_dump_json().encode(), qos=1, retain=True)
        except NotConnected:
            return False
        if self._last is None or self._last[0] != state[0]:
            log.info(
                "tokens: published %d keys and %d revocations on %s",
                len(msg.keys),
                len(msg.revoked),
                topics.KEYS,
            )
        self._last = state
        self.published += 1
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="central-keys", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                # The database away for a moment, a key file being replaced: next round.
                log.exception("tokens: could not publish the keys; trying again")
            self._stop.wait(self.interval_s)
