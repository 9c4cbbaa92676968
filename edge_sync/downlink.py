"""What central pushes to the device retained, stored in edge.db for the kiosk.

* ``omk/v1/down/all/keys``: public keys and revocations (``codes.CodeStore``);
* ``omk/v1/down/{store}/campaigns``: the store's campaign list;
* ``omk/v1/down/{store}/codes/{campaign}``: a campaign's fallback-code table
  (both in ``campaign_cache.CampaignCache``);
* ``omk/v1/down/{store}/pickups``: pickup order upserts (``pickups.PickupStore``).

All but the pickups retained, so the device gets the current message of each on every
connect, also after days offline. MQTT's thread only hands payloads over (``offer``);
the sync loop stores them (``apply``), the newest per retained topic: one superseded
before it was stored is skipped. Pickup messages are not retained and each carries
other orders, so every one is stored, in arrival order (the revisions inside make the
order of arrival harmless); the broker's persistent session keeps those sent while the
device was offline, and the store snapshot covers a longer absence. A message that is too large, not JSON or not what central sends is logged and
ignored, and what was stored before stays; nothing a message holds stops the daemon.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from pathlib import Path

from .campaign_cache import Applied, CampaignCache
from .codes import CodeStore
from .pickups import MAX_PICKUPS_MESSAGE_BYTES, PickupStore
from .protocol import topics
from .protocol.campaign_list import MAX_LIST_BYTES, parse_campaign_list
from .protocol.tokens import MAX_KEYS_MESSAGE_BYTES, parse_keys_message
from .protocol.tokens.code_table import MAX_TABLE_BYTES, parse_code_table

log = logging.getLogger(__name__)

_CAMPAIGN_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class Downlink:
    def __init__(self, store_id: str, db_path: str | Path) -> None:
        self.store_id = store_id
        self.codes = CodeStore(db_path)
        self.campaigns = CampaignCache(db_path)
        self._campaigns_topic = topics.campaigns(store_id)
        self._codes_prefix = topics.code_table(store_id, "")
        self.pickups = PickupStore(store_id, db_path)
        self._pickups_topic = topics.store_down(store_id, "pickups")
        self._pending: dict[str, bytes] = {}
        self._pickup_messages: list[bytes] = []
        self._lock = threading.Lock()
        #: messages stored, by what they were ("keys", "campaigns", "codes", "pickups")
        self.applied: Counter[str] = Counter()
        #: messages ignored, by the same
        self.ignored: Counter[str] = Counter()

    def subscriptions(self) -> list[tuple[str, int]]:
        return [
            (topics.KEYS, 1),
            (self._campaigns_topic, 1),
            (topics.code_tables(self.store_id), 1),
            (self._pickups_topic, 1),
        ]

    def _what(self, topic: str) -> tuple[str, int] | None:
        if topic == topics.KEYS:
            return "keys", MAX_KEYS_MESSAGE_BYTES
        if topic == self._campaigns_topic:
            return "campaigns", MAX_LIST_BYTES
        if topic.startswith(self._codes_prefix):
            return "codes", MAX_TABLE_BYTES
        if topic == self._pickups_topic:
            return "pickups", MAX_PICKUPS_MESSAGE_BYTES
        return None

    def offer(self, topic: str, payload: bytes) -> bool:
        """Called on MQTT's thread: keep ``payload`` for ``apply``. False when the topic is
        not one of these (an ack, for the daemon)."""
        what = self._what(topic)
        if what is None:
            return False
        kind, limit = what
        if len(payload) > limit:
            self.ignored[kind] += 1
            log.warning("ignoring a %s message of %d bytes (too large)", _NAMES[kind], len(payload))
            return True
        with self._lock:
            if kind == "pickups":
                self._pickup_messages.append(payload)
            else:
                self._pending[topic] = payload
        return True

    def apply(self) -> None:
        """Store what was offered since the last call (on the sync loop's thread)."""
        self._apply_pickups()
        with self._lock:
            pending, self._pending = self._pending, {}
        for topic, payload in pending.items():
            try:
                self._apply(topic, payload)
            except ValueError as err:
                kind = self._what(topic)[0]  # type: ignore[index]
                self.ignored[kind] += 1
                log.warning("ignoring a %s message that is not central's: %s", _NAMES[kind], err)
            except BaseException:
                # The database, not the message (locked, disk full): try it again next
                # time unless a newer one has come meanwhile.
                with self._lock:
                    self._pending.setdefault(topic, payload)
                raise
        self.pickups.purge_if_due()

    def _apply_pickups(self) -> None:
        with self._lock:
            messages, self._pickup_messages = self._pickup_messages, []
        for i, payload in enumerate(messages):
            try:
                result = self.pickups.apply_message(payload)
            except ValueError as err:
                self.ignored["pickups"] += 1
                log.warning("ignoring a pickups message that is not central's: %s", err)
                continue
            except BaseException:
                with self._lock:  # the database, not the message: again next time, in order
                    self._pickup_messages[:0] = messages[i:]
                raise
            self.applied["pickups"] += 1
            log.info(
                "pickups: stored %d orders, %d unchanged, %d refused",
                result.stored, result.unchanged, len(result.refused),
            )  # fmt: skip

    def _apply(self, topic: str, payload: bytes) -> None:
        if topic == topics.KEYS:
            msg = parse_keys_message(payload)
            if self.codes.apply(msg):
                self.applied["keys"] += 1
                log.info(
                    "stored %d public keys and %d revocations (issued %s)",
                    len(msg.keys), len(msg.revoked), msg.issued_at.isoformat(),
                )  # fmt: skip
        elif topic == self._campaigns_topic:
            lst = parse_campaign_list(payload)
            if lst.store_id != self.store_id:
                raise ValueError(f"the list is for store {lst.store_id!r}")
            result = self.campaigns.apply_list(lst)
            if result is Applied.STORED:
                self.applied["campaigns"] += 1
                log.info(
                    "stored the campaign list version %d of %s: %d campaigns",
                    lst.version, lst.as_of, len(lst.campaigns),
                )  # fmt: skip
            elif result is Applied.OLDER:
                log.info("ignoring campaign list version %d of %s: older than the stored one",
                         lst.version, lst.as_of)  # fmt: skip
        else:
            campaign_id = topic[len(self._codes_prefix) :]
            if not _CAMPAIGN_ID_RE.match(campaign_id):
                raise ValueError(f"topic {topic!r} names no campaign")
            table = parse_code_table(payload)
            result = self.campaigns.apply_code_table(campaign_id, table)
            if result in (Applied.STORED, Applied.CLEARED):
                self.applied["codes"] += 1
                n = len(table.codes) if table is not None else 0
                log.info("%s the fallback codes of campaign %s (%d codes)", result.value,
                         campaign_id, n)  # fmt: skip
            elif result is Applied.OLDER:
                log.info("ignoring fallback codes of campaign %s: older than the stored ones",
                         campaign_id)  # fmt: skip

    def close(self) -> None:
        self.codes.close()
        self.campaigns.close()
        self.pickups.close()


_NAMES = {
    "keys": "keys", "campaigns": "campaign list", "codes": "fallback-code table",
    "pickups": "pickups",
}  # fmt: skip
