"""The marketer's campaign reports, from stored events and the anonymous scan counters.

- **Scans by campaign × store × day**: the counters of ``campaign.scanned`` events kept
  in the transaction that stored each one (UTC day of ``occurred_at``; no consent
  needed, no profile named).
- **Attribution by campaign × store**: distinct profiles that scanned, and the
  conversions credited under first or last touch (``attribution``), with the store of
  the credited scan. Totals are the sums of the rows (``distinct_profiles`` excepted: a
  profile that scanned two campaigns is one profile).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, tuple_

from central_api.store.profile_tables import campaign_counts

from .attribution import Model, conversions, credit
from .reads import order_events, profile_scans


@dataclass(frozen=True, slots=True)
class ScanFilter:
    campaign: str | None = None
    store: str | None = None
    #: ISO days, ``[first_day, stop_day)``; None: open
    first_day: str | None = None
    stop_day: str | None = None


def _where(q: Any, f: ScanFilter) -> Any:
    cc = campaign_counts.c
    if f.campaign is not None:
        q = q.where(cc.campaign_id == f.campaign)
    if f.store is not None:
        q = q.where(cc.store_id == f.store)
    if f.first_day is not None:
        q = q.where(cc.day >= f.first_day)
    if f.stop_day is not None:
        q = q.where(cc.day < f.stop_day)
    return q


def scans_by_day(
    conn: Connection,
    f: ScanFilter,
    after: tuple[str, str, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Counter rows by (campaign, store, day), after the position ``after``."""
    cc = campaign_counts.c
    q = _where(select(cc.campaign_id, cc.store_id, cc.day, cc.scans), f)
    if after is not None:
        q = q.where(tuple_(cc.campaign_id, cc.store_id, cc.day) > tuple_(*after))
    q = q.order_by(cc.campaign_id, cc.store_id, cc.day)
    if limit is not None:
        q = q.limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]


def scans_total(conn: Connection, f: ScanFilter) -> int:
    q = _where(select(func.coalesce(func.sum(campaign_counts.c.scans), 0)), f)
    return int(conn.execute(q).scalar_one())


@dataclass(slots=True)
class AttributionRow:
    campaign_id: str
    store_id: str
    #: campaign.scanned events counted anonymously on the range's days
    scans: int = 0
    #: distinct consenting profiles that scanned in the range
    profiles: int = 0
    #: conversions in the range credited to a scan of this campaign in this store
    conversions: int = 0
    orders: int = 0
    pickups: int = 0
    _who: set[str] = field(default_factory=set, repr=False)


@dataclass(frozen=True, slots=True)
class Attribution:
    model: Model
    window_days: float
    rows: list[AttributionRow]
    totals: dict[str, int]


def attribution(
    conn: Connection,
    *,
    model: Model,
    window_days: float,
    f: ScanFilter,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Attribution:
    """Crediting looks at every campaign (a conversion goes to one campaign whatever the
    filters); ``f`` and ``start``/``end`` then choose the rows and what they count."""
    scans = profile_scans(conn)
    convs = [
        c for c in conversions(order_events(conn, {s.profile_id for s in scans}))
        if (start is None or c.at >= start) and (end is None or c.at < end)
    ]  # fmt: skip
    rows: dict[tuple[str, str], AttributionRow] = {}

    def row(campaign: str, store: str) -> AttributionRow:
        key = (campaign, store)
        if key not in rows:
            rows[key] = AttributionRow(campaign, store)
        return rows[key]

    for c, scan in credit(scans, convs, model, timedelta(days=window_days)):
        if scan is not None:
            r = row(scan.campaign_id, scan.store_id)
            r.conversions += 1
            if c.kind == "order":
                r.orders += 1
            else:
                r.pickups += 1
    for s in scans:
        if (start is None or s.at >= start) and (end is None or s.at < end):
            row(s.campaign_id, s.store_id)._who.add(s.profile_id)
    for counted in scans_by_day(conn, f):
        row(counted["campaign_id"], counted["store_id"]).scans += counted["scans"]
    kept = [
        r for key, r in sorted(rows.items())
        if (f.campaign is None or key[0] == f.campaign) and (f.store is None or key[1] == f.store)
    ]  # fmt: skip
    for r in kept:
        r.profiles = len(r._who)
    totals = {k: sum(getattr(r, k) for r in kept) for k in ("scans", "conversions", "orders",
                                                            "pickups")}  # fmt: skip
    totals["distinct_profiles"] = len(set().union(*(r._who for r in kept)))
    return Attribution(model, window_days, kept, totals)


ATTRIBUTION_COLUMNS = ("campaign_id", "store_id", "scans", "profiles", "conversions", "orders",
                       "pickups")  # fmt: skip
SCAN_COLUMNS = ("campaign_id", "store_id", "day", "scans")


def row_dict(r: AttributionRow) -> dict[str, Any]:
    d = asdict(r)
    d.pop("_who", None)
    return d


def csv_lines(columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A header and one line per row (RFC 4180, CRLF), a line at a time."""
    columns = tuple(columns)
    buf = io.StringIO()
    w = csv.writer(buf)

    def line(values: list[Any]) -> str:
        w.writerow(values)
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    yield line(list(columns))
    for record in rows:
        yield line([record[c] for c in columns])
