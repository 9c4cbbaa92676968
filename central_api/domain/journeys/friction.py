"""Friction findings: where a profile's journey stalled, derived from its facts as of ``now``.

Deterministic given ``(facts, now)``: facts are taken in ``facts.ordered`` order, every
window is half-open — an answer at exactly ``start + window`` is too late — and a
finding whose window is still open at ``now`` is not reported yet (``now`` equal to the
window's end reports it). A finding's ``at`` is when it happened: the fact's time for
``out_of_stock``, ``scan_failed`` and ``low_rating``, the end of the window for the others; no finding
is reported before its ``at`` (``at <= now`` always).

- ``out_of_stock``: at a kiosk, a product viewed while not in stock, or a search that
  found products of which none was in stock.
- ``scan_failed``: a QR scan that did not verify, with its reason.
- ``low_rating``: kiosk feedback (``survey.answered``) rated at or below
  ``low_rating_at_most`` (default 2 of 5), with the reason the shopper tapped, if any
  ("waited_long", "item_missing", "kiosk_hard"), and the order it was about.
- ``pickup_not_collected``: a click-and-collect order (``pickup_store_id``) with no
  ``pickup.confirmed`` for its ``order_id`` before the window ran out; a pickup after
  that is shown as ``collected_at`` and does not undo the finding (the wait happened).
- ``campaign_no_visit``: an online interaction with a campaign (e.g. an email click)
  with no store visit in any store within the window. One finding per episode: the
  episode starts at an interaction and takes in the interactions that follow until
  a visit or the window's end; the next interaction after that starts a new one.
- ``checkout_abandoned``: a checkout started, or a cart with items, followed within the
  window by neither an order nor further cart or checkout activity (which restarts the
  wait) nor the same cart emptied (the shopper changed their mind; nothing failed them).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from central_api.domain.facts import Fact, ordered
from central_api.domain.journeys.journey_rules import FindingKind, JourneyRules, campaign_of
from edge_sync.protocol.ids import format_ts

Detail = dict[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    at: datetime
    event_id: str  # the fact the finding is about
    detail: Detail = field(default_factory=dict, hash=False)


def findings(facts: Iterable[Fact], rules: JourneyRules, now: datetime) -> list[Finding]:
    """All findings as of ``now``, ordered by ``(at, kind, event_id)``."""
    return findings_in_order(ordered(facts), rules, now)


def findings_in_order(facts: list[Fact], rules: JourneyRules, now: datetime) -> list[Finding]:
    """``findings`` for facts already in ``facts.ordered`` form."""
    fr = rules.friction
    disabled = frozenset(fr.disabled)
    out: list[Finding] = []
    if not {"out_of_stock", "scan_failed", "low_rating"} <= disabled:
        kiosk = _at_the_kiosk(facts, fr.low_rating_at_most)
        out.extend(f for f in kiosk if f.kind not in disabled and f.at <= now)
    if "pickup_not_collected" not in disabled:
        out.extend(_pickups(facts, timedelta(hours=fr.pickup_uncollected_after_hours), now))
    if "campaign_no_visit" not in disabled:
        c = rules.compiled
        window = timedelta(days=fr.campaign_no_visit_after_days)
        out.extend(_campaigns(facts, c.campaign_interactions, c.store_visits, window, now))
    if "checkout_abandoned" not in disabled:
        out.extend(_checkouts(facts, timedelta(hours=fr.checkout_abandoned_after_hours), now))
    out.sort(key=lambda f: (f.at, f.kind, f.event_id))
    return out


def _at_the_kiosk(facts: list[Fact], low_rating: int) -> Iterable[Finding]:
    for f in facts:
        if f.channel != "kiosk":
            continue
        d = f.data
        if f.type == "product.viewed" and d.get("in_stock") is False:
            detail: Detail = {"store_id": f.store_id, "sku": _str(d, "sku"), "source": "view"}
            yield Finding("out_of_stock", f.occurred_at, f.event_id, detail)
        elif (
            f.type == "product.searched"
            and _int(d, "results") > 0
            and _int(d, "in_stock_results") == 0
        ):
            detail = {
                "store_id": f.store_id,
                "query": _str(d, "query"),
                "results": _int(d, "results"),
                "source": "search",
            }
            yield Finding("out_of_stock", f.occurred_at, f.event_id, detail)
        elif f.type == "qr.scanned" and d.get("valid") is False:
            detail = {"store_id": f.store_id, "reason": _str(d, "reason"), "kind": _str(d, "kind")}
            yield Finding("scan_failed", f.occurred_at, f.event_id, detail)
        elif f.type == "survey.answered" and 0 < _int(d, "rating") <= low_rating:
            detail = {
                "store_id": f.store_id,
                "context": _str(d, "context"),
                "rating": _int(d, "rating"),
                "reason": _str(d, "reason"),
                "order_id": _str(d, "order_id"),
            }
            yield Finding("low_rating", f.occurred_at, f.event_id, detail)


def _pickups(facts: list[Fact], window: timedelta, now: datetime) -> Iterable[Finding]:
    orders: dict[str, Fact] = {}  # order id -> its first click-and-collect order.placed
    collected: dict[str, datetime] = {}  # order id -> first pickup
    for f in facts:
        order_id = _str(f.data, "order_id")
        if order_id is None:
            continue
        if f.type == "order.placed" and _str(f.data, "pickup_store_id") is not None:
            orders.setdefault(order_id, f)
        elif f.type == "pickup.confirmed":
            collected.setdefault(order_id, f.occurred_at)
    for order_id, o in orders.items():
        deadline = o.occurred_at + window
        picked = collected.get(order_id)
        if now < deadline or (picked is not None and picked < deadline):
            continue
        detail: Detail = {
            "order_id": order_id,
            "pickup_store_id": _str(o.data, "pickup_store_id"),
            "placed_at": format_ts(o.occurred_at),
            "collected_at": format_ts(picked) if picked is not None else None,
        }
        yield Finding("pickup_not_collected", deadline, o.event_id, detail)


def _campaigns(
    facts: list[Fact],
    interactions: frozenset[str],
    visits: frozenset[str],
    window: timedelta,
    now: datetime,
) -> Iterable[Finding]:
    visit_times = [f.occurred_at for f in facts if f.type in visits]
    by_campaign: dict[str, list[Fact]] = {}
    for f in facts:
        if f.type in interactions and (campaign := campaign_of(f)) is not None:
            by_campaign.setdefault(campaign, []).append(f)
    for campaign, acts in sorted(by_campaign.items()):
        times = [a.occurred_at for a in acts]
        i = 0
        while i < len(acts):
            start = times[i]
            deadline = start + window
            k = bisect_left(visit_times, start)
            if k < len(visit_times) and visit_times[k] < deadline:
                i = bisect_right(times, visit_times[k], lo=i)  # the visit answered these
                continue
            j = bisect_left(times, deadline, lo=i)
            if deadline <= now:
                detail: Detail = {
                    "campaign_id": campaign,
                    "first_interaction_at": format_ts(start),
                    "interactions": j - i,
                }
                yield Finding("campaign_no_visit", deadline, acts[i].event_id, detail)
            i = j


def _checkouts(facts: list[Fact], window: timedelta, now: datetime) -> Iterable[Finding]:
    steps: list[Fact] = []
    order_times: list[datetime] = []
    emptied: dict[str, list[datetime]] = {}  # cart id -> times it was emptied
    for f in facts:
        if f.type == "checkout.started" or (f.type == "cart.updated" and _int(f.data, "items") > 0):
            steps.append(f)
        elif f.type == "cart.updated" and (cart := _str(f.data, "cart_id")) is not None:
            emptied.setdefault(cart, []).append(f.occurred_at)
        elif f.type == "order.placed":
            order_times.append(f.occurred_at)
    for n, step in enumerate(steps):
        start = step.occurred_at
        deadline = start + window
        if deadline > now:
            continue
        if n + 1 < len(steps) and steps[n + 1].occurred_at < deadline:
            continue  # the shopper went on; the last step of the run is the one judged
        cart_id = _str(step.data, "cart_id")
        if _any_in(order_times, start, deadline):
            continue
        if cart_id is not None and _any_in(emptied.get(cart_id, []), start, deadline):
            continue
        detail: Detail = {
            "cart_id": cart_id,
            "value": _num(step.data, "value"),
            "step": "checkout" if step.type == "checkout.started" else "cart",
        }
        yield Finding("checkout_abandoned", deadline, step.event_id, detail)


def _any_in(sorted_times: list[datetime], start: datetime, end: datetime) -> bool:
    """Some time in ``[start, end)``."""
    k = bisect_left(sorted_times, start)
    return k < len(sorted_times) and sorted_times[k] < end


def _str(data: Mapping[str, Any], key: str) -> str | None:
    v = data.get(key)
    return v if isinstance(v, str) else None


def _int(data: Mapping[str, Any], key: str) -> int:
    v = data.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _num(data: Mapping[str, Any], key: str) -> float | None:
    v = data.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
