"""The device's copy of its store's campaigns and of their fallback-code tables.

The sync daemon stores what central pushes retained (``apply_list`` from
``down/{store}/campaigns``, ``apply_code_table`` from ``down/{store}/codes/{campaign}``);
the kiosk reads it through ``EdgeClient`` with no network. Each message replaces what
it covers whole in one transaction, so a scan never sees half a list or half a table.

Retained messages come again on every reconnect, and two central processes racing can
leave an older one retained for a while: a list is stored only when its
``(version, as_of)`` is newer than the stored one, a table only when its ``issued_at``
is newer than the stored table's. The empty retained payload on a table's topic is
central removing it (an ended campaign) and always applies; a new list also removes the
tables of campaigns no longer on it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from .db import open_edge_db
from .protocol.campaign_list import CampaignEntry, CampaignList
from .protocol.ids import format_ts, parse_ts, utcnow
from .protocol.tokens.code_table import CodeTable

#: sync_state keys
STATE_LIST_VERSION = "campaigns_version"
STATE_LIST_AS_OF = "campaigns_as_of"
STATE_LIST_RECEIVED_AT = "campaigns_received_at"


def _stamp(ts: datetime) -> str:
    """``issued_at`` to the microsecond, in one fixed form (so text order is time order
    and the same table read again compares equal)."""
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


class Applied(StrEnum):
    STORED = "stored"
    CLEARED = "cleared"
    SAME = "same"  # what is stored already (a retained message again)
    OLDER = "older"  # older than what is stored: ignored


@dataclass(frozen=True, slots=True)
class ListState:
    """Which list the device holds: central's ``version`` and ``as_of`` day, and when
    the daemon stored it."""

    version: int
    as_of: date
    received_at: datetime

    def current(self, today: date) -> bool:
        """Central moves ``as_of`` to each new UTC day, so a list of an earlier day means
        the device has not heard from central since then."""
        return self.as_of >= today


class CampaignCache:
    def __init__(self, db_path: str | Path) -> None:
        self._conn, _ = open_edge_db(db_path)
        self._lock = threading.Lock()
        self._cache: tuple[str | None, dict[str, CampaignEntry]] = ("", {})

    def _state(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    # -- the campaign list ---------------------------------------------------------------

    def list_state(self) -> ListState | None:
        with self._lock:
            return self._list_state()

    def _list_state(self) -> ListState | None:
        version, as_of = self._state(STATE_LIST_VERSION), self._state(STATE_LIST_AS_OF)
        received = self._state(STATE_LIST_RECEIVED_AT)
        if version is None or as_of is None or received is None:
            return None
        return ListState(int(version), date.fromisoformat(as_of), parse_ts(received))

    def apply_list(self, lst: CampaignList) -> Applied:
        """Store ``lst`` in place of the stored list, unless it is not newer."""
        rows = [(c.id, i, c.model_dump_json()) for i, c in enumerate(lst.campaigns)]
        with self._lock:
            held = self._list_state()
            if held is not None:
                if lst.order_key == (held.version, held.as_of):
                    return Applied.SAME
                if lst.order_key < (held.version, held.as_of):
                    return Applied.OLDER
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("DELETE FROM campaigns")
                # a list naming one campaign twice keeps the later entry
                c.executemany("INSERT OR REPLACE INTO campaigns VALUES (?, ?, ?)", rows)
                # A table whose campaign left the list is of an ended campaign. Central
                # clears it too, but a device offline longer than its broker session
                # never hears of that clear (an empty retained message is not kept).
                listed = "SELECT id FROM campaigns"
                c.execute(f"DELETE FROM fallback_codes WHERE campaign_id NOT IN ({listed})")
                c.execute(f"DELETE FROM code_tables WHERE campaign_id NOT IN ({listed})")
                c.executemany(
                    "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                    [
                        (STATE_LIST_VERSION, str(lst.version)),
                        (STATE_LIST_AS_OF, lst.as_of.isoformat()),
                        (STATE_LIST_RECEIVED_AT, format_ts(utcnow())),
                    ],
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return Applied.STORED

    def _entries(self) -> dict[str, CampaignEntry]:
        """Every stored campaign in list order (parsed again only after a new list)."""
        with self._lock:
            stamp = f"{self._state(STATE_LIST_VERSION)}/{self._state(STATE_LIST_AS_OF)}"
            if stamp == self._cache[0]:
                return self._cache[1]
            rows = self._conn.execute("SELECT entry FROM campaigns ORDER BY position").fetchall()
        entries = {}
        for (text,) in rows:
            e = CampaignEntry.model_validate(json.loads(text))
            entries[e.id] = e
        self._cache = (stamp, entries)
        return entries

    def campaign(self, campaign_id: str) -> CampaignEntry | None:
        """The stored entry, whatever its days (``CampaignEntry.status`` tells them)."""
        return self._entries().get(campaign_id)

    def campaigns(self, today: date) -> list[CampaignEntry]:
        """The campaigns whose offer holds ``today`` (UTC day), in central's order."""
        return [e for e in self._entries().values() if e.status(today) == "running"]

    # -- fallback-code tables ----------------------------------------------------------------

    def apply_code_table(self, campaign_id: str, table: CodeTable | None) -> Applied:
        """Replace the campaign's table with ``table``; None (the empty payload) or a table
        with no codes removes it. ``ValueError`` when the table is another campaign's."""
        if table is not None and table.campaign_id != campaign_id:
            raise ValueError(
                f"the table on campaign {campaign_id!r}'s topic is for {table.campaign_id!r}"
            )
        with self._lock:
            row = self._conn.execute(
                "SELECT issued_at FROM code_tables WHERE campaign_id = ?", (campaign_id,)
            ).fetchone()
            if table is not None and row is not None:
                held = parse_ts(row[0])
                if table.issued_at == held:
                    return Applied.SAME
                if table.issued_at < held:
                    return Applied.OLDER
            if table is None and row is None:
                return Applied.SAME
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("DELETE FROM fallback_codes WHERE campaign_id = ?", (campaign_id,))
                c.execute("DELETE FROM code_tables WHERE campaign_id = ?", (campaign_id,))
                if table is not None and table.codes:
                    c.executemany(
                        "INSERT INTO fallback_codes VALUES (?, ?, ?)",
                        ((code, campaign_id, tok) for code, tok in table.codes.items()),
                    )
                    c.execute(
                        "INSERT INTO code_tables VALUES (?, ?, ?)",
                        (campaign_id, _stamp(table.issued_at), len(table.codes)),
                    )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return Applied.STORED if table is not None and table.codes else Applied.CLEARED

    def code_tables(self) -> dict[str, int]:
        """Campaign id → how many fallback codes the device holds for it."""
        with self._lock:
            return dict(self._conn.execute("SELECT campaign_id, codes FROM code_tables"))

    def resolve(self, code: str) -> str | None:
        """The token a canonical fallback code stands for, or None. Two campaigns' tables
        holding the same code (55 bits: very unlikely, not impossible) resolve to the
        newer table's token."""
        with self._lock:
            row = self._conn.execute(
                "SELECT f.token FROM fallback_codes f JOIN code_tables t USING (campaign_id) "
                "WHERE f.code = ? ORDER BY t.issued_at DESC LIMIT 1",
                (code,),
            ).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
