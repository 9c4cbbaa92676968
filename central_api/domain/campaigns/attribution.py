"""Which campaign scan a conversion is credited to: first touch or last touch.

Pure functions over a profile's scans and conversions (read by ``reads``):

- A **scan** is a ``campaign.scanned`` kiosk event in a session linked to the profile
  (the "linked visit": a scan no profile holds cannot be followed to an order).
- A **conversion** is one order of the profile: its online ``order.placed`` or, for an
  order central never saw placed, its first ``pickup.confirmed``. An order both placed
  and picked up is one conversion, at the earlier of the two (the pickup of an order
  placed before the scan is not something the scan brought about).
- A scan **can be credited** with a conversion at ``t`` when it happened at or before
  ``t`` and less than the window before it.
- **First touch** credits the earliest such scan, **last touch** the latest (ties by
  event id). Each conversion goes to exactly one scan per model, or to none when no
  scan of the profile is in its window; so per model the credited conversions add up
  across campaigns and stores.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Model = Literal["first", "last"]
ConversionKind = Literal["order", "pickup"]


@dataclass(frozen=True, slots=True)
class Scan:
    profile_id: str
    at: datetime
    event_id: str
    campaign_id: str
    store_id: str


@dataclass(frozen=True, slots=True)
class Conversion:
    profile_id: str
    order_id: str
    at: datetime
    event_id: str
    #: what made it: the order being placed, or (no order.placed known) its pickup
    kind: ConversionKind


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An ``order.placed`` or ``pickup.confirmed`` of a profile."""

    profile_id: str
    order_id: str
    at: datetime
    event_id: str
    kind: ConversionKind


def conversions(events: Iterable[OrderEvent]) -> list[Conversion]:
    """One conversion per (profile, order): its earliest event by ``(at, event_id)``."""
    first: dict[tuple[str, str], OrderEvent] = {}
    for e in events:
        key = (e.profile_id, e.order_id)
        cur = first.get(key)
        if cur is None or (e.at, e.event_id) < (cur.at, cur.event_id):
            first[key] = e
    return sorted(
        (Conversion(e.profile_id, e.order_id, e.at, e.event_id, e.kind) for e in first.values()),
        key=lambda c: (c.at, c.event_id),
    )


def credit(
    scans: Iterable[Scan], convs: Iterable[Conversion], model: Model, window: timedelta
) -> list[tuple[Conversion, Scan | None]]:
    """Each conversion with the scan credited under ``model`` (None: no scan in window)."""
    by_profile: dict[str, list[Scan]] = {}
    for s in scans:
        by_profile.setdefault(s.profile_id, []).append(s)
    keys: dict[str, list[datetime]] = {}
    for pid, items in by_profile.items():
        items.sort(key=lambda s: (s.at, s.event_id))
        keys[pid] = [s.at for s in items]
    out: list[tuple[Conversion, Scan | None]] = []
    for c in convs:
        items = by_profile.get(c.profile_id, [])
        times = keys.get(c.profile_id, [])
        lo = bisect.bisect_right(times, c.at - window)  # at > c.at - window
        hi = bisect.bisect_right(times, c.at)  # at <= c.at
        if lo >= hi:
            out.append((c, None))
        else:
            out.append((c, items[lo] if model == "first" else items[hi - 1]))
    return out
