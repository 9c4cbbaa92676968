"""What happens because an event was stored for the first time, and the default set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from central_api.domain.fleet.counters import DeviceTypeCounts
from central_api.domain.orders.pickups import OrderEffects
from central_api.domain.profiles.profile_cache import ProfileCache
from central_api.domain.profiles.profile_effects import ProfileEffects
from edge_sync.protocol import ValidEvent


class Effect(Protocol):
    """Something that happens because an event was stored for the first time.

    Called once per ``process`` (inside its transaction) with the group's new events in
    (device_id, seq) order. Effects must not depend on arrival order or time (scores and
    journeys use ``occurred_at``); ``received_at`` is the group's latest receive time.
    An effect that keeps state outside the database may also have ``committed()`` and
    ``rolled_back()``, called after the transaction ends; one that must do something
    idempotent in a transaction of its own first, ``before(engine, events)`` (called with
    all of the group's valid events, new or not).
    """

    def apply(
        self, conn: Connection, new_events: list[ValidEvent], received_at: datetime
    ) -> None: ...


def after_transaction(effects: Sequence[Effect], outcome: str) -> None:
    """Tell effects that keep state outside the database (``committed()`` /
    ``rolled_back()``, both optional) how the transaction ended."""
    for effect in effects:
        hook = getattr(effect, outcome, None)
        if hook is not None:
            hook()


def default_effects(
    cache_facts: int = 100_000, on_order_change: Callable[[], None] | None = None
) -> tuple[Effect, ...]:
    """Counters, identity, re-derivation and pickups; a new set per ``Ingestor`` (what the
    profile effects remember belongs to one database). ``cache_facts``: see
    ``ProfileCache``; ``on_order_change``: called after a commit that changed orders."""
    cache = ProfileCache(max_facts=cache_facts) if cache_facts > 0 else None
    # Orders after profiles: the profile effects take the orders' locks with the
    # sessions' in one sorted pass. Counters last: their rows are shared by every
    # transaction, so they are locked for the shortest time (see ``Ingestor._write``).
    return (ProfileEffects(cache=cache), OrderEffects(on_order_change), DeviceTypeCounts())
