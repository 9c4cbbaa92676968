"""``/api/v1/campaign-reports``: scans by campaign × store × day, and conversions credited
to campaigns under first or last touch; each as JSON and as a CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from central_api.domain.campaigns import reports
from central_api.domain.campaigns.attribution import Model
from central_api.domain.scoring.active_rules import active_rules

from .auth import get_engine, guarded
from .pagination import Page, PageParams, decode_cursor, encode_cursor, invalid_cursor, page_params
from .profile_schemas import UtcTime
from .routes_funnel import Id, WindowDays, check_range, utc_days
from .schemas import Timestamp

router = APIRouter(prefix="/api/v1/campaign-reports", tags=["campaigns"])

_LISTING = "campaign-scans"
ModelQuery = Annotated[
    Model,
    Query(description="first: credit the earliest scan in the window; last: the latest"),
]
Start = Annotated[UtcTime | None, Query(description="from (conversions, scans) at or after")]
End = Annotated[UtcTime | None, Query(description="until (conversions, scans) before")]


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


_CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}},
              "description": "CSV (RFC 4180) with a header line"}}  # fmt: skip


class ScanDay(BaseModel):
    campaign_id: str
    store_id: str
    day: date = Field(description="the UTC day of the scans' occurred_at")
    scans: int


class ScanReport(Page[ScanDay]):
    total_scans: int = Field(description="all the filters' scans, on every page")


class AttributionRowOut(BaseModel):
    campaign_id: str
    store_id: str
    scans: int = Field(description="campaign.scanned counted anonymously on the range's days")
    profiles: int = Field(description="distinct consenting profiles that scanned in the range")
    conversions: int = Field(description="orders in the range credited to this row's scans")
    orders: int = Field(description="conversions by an online order.placed")
    pickups: int = Field(description="conversions by a pickup of an order not seen placed")


class AttributionTotals(BaseModel):
    scans: int
    conversions: int
    orders: int
    pickups: int
    distinct_profiles: int = Field(description="profiles in any row, each once (not a sum)")


class AttributionOut(BaseModel):
    model: Model
    window_days: float
    campaign: str | None
    store: str | None
    start: Timestamp | None
    end: Timestamp | None
    rows: list[AttributionRowOut] = Field(description="by campaign_id, then store_id")
    totals: AttributionTotals = Field(description="sums of the rows")


def _filter(campaign: str | None, store: str | None, start: datetime | None,
            end: datetime | None) -> reports.ScanFilter:  # fmt: skip
    check_range(start, end)
    first_day, stop_day = utc_days(start, end)
    return reports.ScanFilter(campaign, store, first_day, stop_day)


@router.get(
    "/scans",
    response_model=ScanReport,
    summary="Campaign scans by campaign × store × UTC day (anonymous counters)",
    **guarded("marketer"),
)
def scan_report(
    engine: Annotated[Engine, Depends(get_engine)],
    page: Annotated[PageParams, Depends(page_params)],
    campaign: Id = None,
    store: Id = None,
    start: Start = None,
    end: End = None,
) -> dict[str, Any]:
    """Every `campaign.scanned` kiosk event, counted once on the UTC day of its
    `occurred_at`, with or without consent. `start` and `end` select whole UTC days, as
    `campaign_scans` in `/funnel` does."""
    f = _filter(campaign, store, start, end)
    after = None
    if page.cursor:
        after = decode_cursor(page.cursor, _LISTING, (str, str, str))
        try:
            date.fromisoformat(after[2])
        except ValueError:
            raise invalid_cursor() from None
    with engine.connect() as conn:
        rows = reports.scans_by_day(conn, f, after, page.limit + 1)
        total = reports.scans_total(conn, f)
    items = rows[: page.limit]
    nxt = None
    if len(rows) > page.limit:
        last = items[-1]
        nxt = encode_cursor(_LISTING, (last["campaign_id"], last["store_id"], last["day"]))
    return {"items": items, "limit": page.limit, "next": nxt, "total_scans": total}


@router.get(
    "/scans.csv",
    response_class=CsvResponse,
    responses=_CSV,
    summary="Campaign scans by campaign × store × UTC day, as CSV",
    **guarded("marketer"),
)
def scan_report_csv(
    engine: Annotated[Engine, Depends(get_engine)],
    campaign: Id = None,
    store: Id = None,
    start: Start = None,
    end: End = None,
) -> CsvResponse:
    """The rows of `/campaign-reports/scans` for the same filters, all of them."""
    f = _filter(campaign, store, start, end)
    with engine.connect() as conn:
        rows = reports.scans_by_day(conn, f)
    return _csv(reports.csv_lines(reports.SCAN_COLUMNS, rows), "campaign-scans.csv")


def _attribution(
    engine: Engine, model: Model, window_days: float | None, campaign: str | None,
    store: str | None, start: datetime | None, end: datetime | None,
) -> reports.Attribution:  # fmt: skip
    f = _filter(campaign, store, start, end)
    with engine.connect() as conn, conn.begin():
        if window_days is None:
            window_days = active_rules(conn).journey.attribution_window_days
        return reports.attribution(
            conn, model=model, window_days=window_days, f=f, start=start, end=end
        )


@router.get(
    "/attribution",
    response_model=AttributionOut,
    summary="Conversions credited to campaigns (first or last touch), by campaign × store",
    **guarded("marketer"),
)
def attribution_report(
    engine: Annotated[Engine, Depends(get_engine)],
    model: ModelQuery = "last",
    window_days: WindowDays = None,
    campaign: Id = None,
    store: Id = None,
    start: Start = None,
    end: End = None,
) -> dict[str, Any]:
    """A conversion is an order of a profile that scanned a campaign at a kiosk in a
    session linked to it: the order's online `order.placed`, or (never seen placed) its
    first `pickup.confirmed`, once per order. It is credited to the profile's earliest
    (`first`) or latest (`last`) scan at or before it and less than `window_days` before
    it, whatever campaign that is; so each conversion counts in one row at most and the
    totals are the sums of the rows. `campaign` and `store` choose rows; `start` and
    `end` choose conversions and scanning profiles by time, and the scan counters by
    whole UTC day. Profiles without profiling consent are not counted."""
    a = _attribution(engine, model, window_days, campaign, store, start, end)
    return {
        "model": a.model, "window_days": a.window_days, "campaign": campaign, "store": store,
        "start": start, "end": end, "rows": [reports.row_dict(r) for r in a.rows],
        "totals": a.totals,
    }  # fmt: skip


@router.get(
    "/attribution.csv",
    response_class=CsvResponse,
    responses=_CSV,
    summary="Conversions credited to campaigns, by campaign × store, as CSV",
    **guarded("marketer"),
)
def attribution_report_csv(
    engine: Annotated[Engine, Depends(get_engine)],
    model: ModelQuery = "last",
    window_days: WindowDays = None,
    campaign: Id = None,
    store: Id = None,
    start: Start = None,
    end: End = None,
) -> CsvResponse:
    """The rows of `/campaign-reports/attribution` for the same parameters."""
    a = _attribution(engine, model, window_days, campaign, store, start, end)
    lines = reports.csv_lines(reports.ATTRIBUTION_COLUMNS, map(reports.row_dict, a.rows))
    return _csv(lines, f"campaign-attribution-{a.model}-touch.csv")


def _csv(lines: Iterator[str], filename: str) -> CsvResponse:
    return CsvResponse(
        (line.encode() for line in lines),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
