"""The input every per-profile derivation works from: one ``Fact`` per stored event.

Scores, grades, stages, journeys and friction are pure functions of a profile's set of
facts (and its attributes and the rules), evaluated in a fixed order — by
``(occurred_at, event_id)`` — so late, duplicated or reordered events give exactly the
same result as in-order ones, and any ingest worker may recompute any profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: where a touchpoint happened
CHANNELS = ("kiosk", "email", "web", "app", "direct_mail", "pos")


@dataclass(frozen=True, slots=True)
class Fact:
    event_id: str
    type: str
    v: int
    occurred_at: datetime  # timezone-aware UTC; what scores and journeys use
    channel: str  # one of CHANNELS
    store_id: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    campaign_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.event_id)


class Ordered(list[Fact]):
    """A list of facts already deduplicated and sorted: ``ordered`` returns it as is."""

    __slots__ = ()


def _key(f: Fact) -> tuple[datetime, str]:
    return (f.occurred_at, f.event_id)


def ordered(facts: Iterable[Fact]) -> Ordered:
    """Deduplicated by event id and sorted by ``(occurred_at, event_id)``.

    Every derivation calls this on its input; a profile's facts are ordered once when
    they are loaded, and the later calls cost nothing. An ``Ordered`` must not be
    appended to (none of the derivations does).
    """
    if isinstance(facts, Ordered):
        return facts
    by_id = {f.event_id: f for f in facts}
    return Ordered(sorted(by_id.values(), key=_key))
