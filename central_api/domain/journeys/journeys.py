"""A profile's journey: touchpoints, funnel stages reached, and friction — all pure
functions of the profile's facts and the ``[journey]`` rules (plus ``now`` for friction).

Everything is computed from ``facts.ordered(...)``, so the result is the same whatever
order the facts arrived in and however often each was delivered.

Stages never go back. A fact evidences the stages its rules name; the profile's stage
is the highest stage evidenced so far, and a fact that evidences a lower stage later
changes nothing. Reaching a stage also reaches every earlier stage not reached yet, at
the same moment and by the same fact (``implied=True``): an order placed with nothing
before it is awareness, interest, desire and action at once, so every stage has a
``first_reached_at`` and ``first_reached_at`` never decreases along the funnel.

Attribution: a stage is credited to the campaign and store of the fact that reached it;
when that fact has none (an online order has no store, a kiosk search no campaign), to
those of the profile's latest earlier fact that had one, less than
``attribution_window_days`` before (last touch; 0 turns this off). A click-and-collect
order's own store is its pickup store.

That credit goes to one campaign per stage: the first to reach it. A campaign's own
funnel asks another question — what did the profile do *because of* this campaign — and
``campaign_stage_history`` answers it: every stage evidenced by the campaign's own facts
(its scans, its recipients' check-ins, its emails) and by whatever the profile did after
one of them, less than the window later, in the same kiosk session or anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from central_api.domain.facts import Fact, ordered
from central_api.domain.journeys import friction
from central_api.domain.journeys.journey_rules import (
    DEFAULT_JOURNEY_RULES,
    STAGES,
    JourneyRules,
    campaign_of,
)


@dataclass(frozen=True, slots=True)
class Touchpoint:
    occurred_at: datetime
    channel: str
    task: str
    device_id: str | None
    store_id: str | None
    event_id: str
    campaign_id: str | None


@dataclass(frozen=True, slots=True)
class StageReached:
    stage: str
    first_reached_at: datetime
    event_id: str  # the fact that reached it
    campaign_id: str | None  # attributed, see the module docstring
    store_id: str | None
    #: reached because a later stage was evidenced, not by a rule for this stage
    implied: bool = False


@dataclass(frozen=True, slots=True)
class Journey:
    touchpoints: list[Touchpoint]
    stages: list[StageReached]
    current_stage: str | None
    friction: list[friction.Finding] = field(default_factory=list)


def touchpoints(
    facts: Iterable[Fact], rules: JourneyRules = DEFAULT_JOURNEY_RULES
) -> list[Touchpoint]:
    """One touchpoint per fact whose type has a task, in ``(occurred_at, event_id)`` order."""
    return _touchpoints(ordered(facts), rules)


def _touchpoints(facts: list[Fact], rules: JourneyRules) -> list[Touchpoint]:
    task_of = rules.compiled.task_of
    out = []
    for f in facts:
        task = task_of(f.type)
        if task is None:
            continue
        out.append(
            Touchpoint(
                occurred_at=f.occurred_at,
                channel=f.channel,
                task=task,
                device_id=f.device_id,
                store_id=f.store_id,
                event_id=f.event_id,
                campaign_id=campaign_of(f),
            )
        )
    return out


def stage_history(
    facts: Iterable[Fact], rules: JourneyRules = DEFAULT_JOURNEY_RULES
) -> list[StageReached]:
    """Each stage reached, once, in funnel order (a prefix of ``STAGES``)."""
    return _stage_history(ordered(facts), rules)


def _stage_history(facts: list[Fact], rules: JourneyRules) -> list[StageReached]:
    evidence = rules.compiled.stages_evidenced
    window = timedelta(days=rules.attribution_window_days)
    last_campaign: tuple[datetime, str] | None = None
    last_store: tuple[datetime, str] | None = None
    out: list[StageReached] = []
    for f in facts:
        campaign, store = campaign_of(f), _store_of(f)
        evidenced = evidence(f)
        top = max(evidenced, default=-1)
        if top >= len(out):
            if campaign is None and last_campaign and f.occurred_at - last_campaign[0] < window:
                campaign = last_campaign[1]
            if store is None and last_store and f.occurred_at - last_store[0] < window:
                store = last_store[1]
            out.extend(
                StageReached(
                    STAGES[i], f.occurred_at, f.event_id, campaign, store, i not in evidenced
                )
                for i in range(len(out), top + 1)
            )
        # Only a fact's own campaign and store are carried forward, never attributed ones.
        if (own := campaign_of(f)) is not None:
            last_campaign = (f.occurred_at, own)
        if (own := _store_of(f)) is not None:
            last_store = (f.occurred_at, own)
    return out


def campaign_stage_history(
    facts: Iterable[Fact],
    campaign_id: str,
    rules: JourneyRules = DEFAULT_JOURNEY_RULES,
    window_days: float | None = None,
) -> list[StageReached]:
    """The stages reached under ``campaign_id`` (a prefix of ``STAGES``, all credited to
    it): by a fact of the campaign itself, or by a later fact less than ``window_days``
    (default: the rules' ``attribution_window_days``) after the campaign's latest fact
    before it. Stages the profile had reached before the campaign count again here when
    a fact under the campaign evidences them; facts before its first touch never count.
    The store is the fact's own, else the latest one within the window (as in
    ``stage_history``)."""
    days = rules.attribution_window_days if window_days is None else window_days
    window = timedelta(days=days)
    evidence = rules.compiled.stages_evidenced
    touched: datetime | None = None
    last_store: tuple[datetime, str] | None = None
    out: list[StageReached] = []
    for f in ordered(facts):
        own_store = _store_of(f)
        if campaign_of(f) == campaign_id:
            touched = f.occurred_at
        if touched is not None and (touched == f.occurred_at or f.occurred_at - touched < window):
            evidenced = evidence(f)
            top = max(evidenced, default=-1)
            if top >= len(out):
                store = own_store
                if store is None and last_store and f.occurred_at - last_store[0] < window:
                    store = last_store[1]
                out.extend(
                    StageReached(
                        STAGES[i], f.occurred_at, f.event_id, campaign_id, store,
                        i not in evidenced,
                    )
                    for i in range(len(out), top + 1)
                )  # fmt: skip
        if own_store is not None:
            last_store = (f.occurred_at, own_store)
    return out


def current_stage(facts: Iterable[Fact], rules: JourneyRules = DEFAULT_JOURNEY_RULES) -> str | None:
    """The highest stage reached, or None before any."""
    history = stage_history(facts, rules)
    return history[-1].stage if history else None


def timeline(facts: Iterable[Fact], rules: JourneyRules, now: datetime) -> Journey:
    """The whole journey of one profile as of ``now`` (``now`` only decides which
    friction windows have closed)."""
    facts = ordered(facts)
    stages = _stage_history(facts, rules)
    return Journey(
        touchpoints=_touchpoints(facts, rules),
        stages=stages,
        current_stage=stages[-1].stage if stages else None,
        friction=friction.findings_in_order(facts, rules, now),
    )


def _store_of(f: Fact) -> str | None:
    if f.store_id is not None:
        return f.store_id
    pickup = f.data.get("pickup_store_id") if f.type == "order.placed" else None
    return pickup if isinstance(pickup, str) else None
