"""The status strip on every screen, and the staff's device status page, from
``EdgeClient.sync_status()`` (what the sync daemon records in edge.db).

The strip is honest: it says "online" only when the daemon has its broker connection
and nothing waits; "syncing n events" while connected with events waiting; and
"offline since 14:02 — everything you do is saved" otherwise. "Since" is the last ack
central sent (the last moment the link is known to have worked), or, when there has
never been one, the moment this controller first saw the link down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from edge_sync import EdgeClient
from edge_sync.protocol.ids import parse_ts
from edge_sync.version import VERSION

from .clock import Clock
from .observe import Observable
from .session import SessionController
from .words import ago_text, clock_text, say, when_text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatusView:
    store_id: str
    device_id: str
    #: online / syncing / offline (the strip's colour and icon)
    connectivity: str
    strip_text: str
    queue_depth: int
    oldest_unsent_s: float | None
    last_sync_at: datetime | None
    dead_letters: int
    #: catalog (store data), keys, campaigns, config: None when not known
    versions: dict[str, str | None]
    software_version: str
    #: what is wrong, most important first, in words (empty: all is well)
    problems: tuple[str, ...]
    #: (label, value) rows for the status page, the problems' rows first
    rows: tuple[tuple[str, str], ...]


class StatusController(Observable):
    def __init__(
        self,
        client: EdgeClient,
        session: SessionController,
        clock: Clock | None = None,
        *,
        tz: tzinfo | None = None,
        config_version: int | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.session = session
        self.clock = clock or session.clock
        self.tz = tz
        self.config_version = config_version
        self._offline_seen: datetime | None = None
        self._raw: dict[str, Any] | None = None

    def refresh(self) -> StatusView:
        """Read the status again (a few SQLite reads; call it every few seconds)."""
        try:
            self._raw = self.client.sync_status()
        except Exception:
            log.exception("sync status could not be read")
            self._raw = None
        self._notify("status")
        return self.view()

    def view(self) -> StatusView:
        raw = self._raw if self._raw is not None else {}
        lang, now = self.session.lang, self.clock.now()
        depth = int(raw.get("queue_depth") or 0)
        last_ack = _ts(raw.get("last_ack_at"))
        connected = bool(raw.get("connected"))
        if connected:
            self._offline_seen = None
            kind = "syncing" if depth else "online"
            if depth:
                strip = say("strip_syncing_one" if depth == 1 else "strip_syncing", lang, n=depth)
            elif last_ack:
                strip = say("strip_online_synced", lang, time=clock_text(last_ack, self.tz))
            else:
                strip = say("strip_online", lang)
        else:
            kind = "offline"
            if self._offline_seen is None:
                self._offline_seen = now
            since = last_ack or self._offline_seen
            strip = say("strip_offline", lang, time=clock_text(since, self.tz))
        oldest = raw.get("oldest_unsent_age_s")
        dead = int(raw.get("dead_letters") or 0)
        versions = self._versions(raw)
        problems = self._problems(raw, kind, depth, oldest, dead, lang, now)
        rows = self._rows(raw, kind, strip, depth, oldest, last_ack, dead, versions, lang, now)
        return StatusView(
            self.client.outbox.store_id, self.client.outbox.device_id, kind, strip, depth,
            oldest, last_ack, dead, versions, VERSION, problems, rows,
        )  # fmt: skip

    def _versions(self, raw: dict[str, Any]) -> dict[str, str | None]:
        inv = raw.get("inventory") or {}
        catalog = inv.get("version") if isinstance(inv, dict) else None
        try:
            if catalog is None:  # the daemon has not reported yet: what is loaded here
                catalog = self.client.availability.data_age().version
            keys = self.client.codes.issued_at()
            listed = self.client.campaign_list()
        except Exception:
            log.exception("data versions could not be read")
            keys, listed = None, None
        return {
            "catalog": None if catalog is None else str(catalog),
            "keys": keys,
            "campaigns": None if listed is None else f"{listed.version} ({listed.as_of})",
            "config": None if self.config_version is None else str(self.config_version),
        }

    def _problems(
        self, raw: dict[str, Any], kind: str, depth: int, oldest: float | None, dead: int,
        lang: str, now: datetime,
    ) -> tuple[str, ...]:  # fmt: skip
        out = []
        if kind == "offline" and depth:
            since = now - timedelta(seconds=oldest or 0)
            out.append(say("problem_waiting", lang, n=depth, time=clock_text(since, self.tz)))
        elif kind == "offline":
            out.append(say("problem_offline", lang))
        if raw.get("daemon_running") is False:
            out.append(say("problem_daemon", lang))
        if dead:
            out.append(say("problem_dead", lang, n=dead))
        inv = raw.get("inventory") or {}
        if isinstance(inv, dict) and inv.get("last_error"):
            out.append(say("problem_store_data", lang, error=str(inv["last_error"])[:120]))
        if raw.get("db_recovered"):
            out.append(say("problem_db_recovered", lang))
        return tuple(out)

    def _rows(
        self, raw: dict[str, Any], kind: str, strip: str, depth: int, oldest: float | None,
        last_ack: datetime | None, dead: int, versions: dict[str, str | None], lang: str,
        now: datetime,
    ) -> tuple[tuple[str, str], ...]:  # fmt: skip
        unknown = say("value_unknown", lang)
        rows = [(say("row_problem", lang), p) for p in self._problems(
            raw, kind, depth, oldest, dead, lang, now)]  # fmt: skip
        rows += [
            (say("row_store", lang), self.client.outbox.store_id),
            (say("row_device", lang), self.client.outbox.device_id),
            (say("row_connectivity", lang), strip),
            (say("row_outbox", lang), say("n_events_one" if depth == 1 else "n_events", lang,
                                          n=depth)),
            (say("row_oldest", lang), unknown if oldest is None else ago_text(oldest, lang)),
            (say("row_last_sync", lang),
             unknown if last_ack is None else when_text(last_ack, self.tz, lang, now)),
            (say("row_dead", lang), str(dead)),
        ]  # fmt: skip
        for name in ("catalog", "keys", "campaigns", "config"):
            value = versions[name] or unknown
            if name == "keys" and (issued := _ts(versions[name])) is not None:
                value = when_text(issued, self.tz, lang, now)  # a time staff can read
            rows.append((say(f"row_version_{name}", lang), value))
        rows.append((say("row_software", lang), VERSION))
        return tuple(rows)


def _ts(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_ts(value)
    except ValueError:
        return None
