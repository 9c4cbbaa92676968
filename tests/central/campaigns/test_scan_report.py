"""``GET /api/v1/campaign-reports/scans`` (and ``.csv``): the anonymous counters by
campaign × store × UTC day, paged, with the same filters as ``/funnel``; and the
campaign tables' migration."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from alembic import command
from sqlalchemy import inspect

from central_api.domain.campaigns.model import CampaignIn
from central_api.domain.campaigns.records import create, get
from central_api.ingest import Ingestor
from central_api.store import make_engine, migrate, write_transaction
from central_api.store.db import alembic_config, current_revision
from edge_sync.protocol import format_ts
from tests.central.api.conftest import bearer
from tests.central.helpers import batch_msg, event

from .world import campaign_body

T0 = datetime(2026, 11, 23, 23, 59, 30, tzinfo=UTC)  # half a minute before midnight


def scans(ingestor: Ingestor) -> None:
    """cmp-a: 2 at s1 on the 23rd, 1 at s1 on the 24th (after midnight), 1 at s2 on the
    24th; cmp-b: 1 at s2 on the 23rd. One is sent twice (counted once), one has no
    linked session at all (counted: no consent or profile is needed)."""
    plan = [("cmp-a", "s1", 0), ("cmp-a", "s1", 10), ("cmp-a", "s1", 40), ("cmp-a", "s2", 60),
            ("cmp-b", "s2", -60)]  # fmt: skip
    for n, (campaign, store, seconds) in enumerate(plan):
        ev = event(n + 1, "campaign.scanned", device=f"{store}-k1", store=store,
                   data={"campaign_id": campaign}, session_id=f"sess-{n}",
                   occurred_at=format_ts(T0 + timedelta(seconds=seconds)))  # fmt: skip
        msg = batch_msg([ev], f"b{n}", device=f"{store}-k1", store=store)
        ingestor.process([msg])
        if n == 0:
            ingestor.process([msg])  # a resend


def report(client, key, path: str, **params):
    r = client.get(f"/api/v1/campaign-reports/{path}", params=params, headers=bearer(key))
    assert r.status_code == 200, r.text
    return r


def test_rows_by_campaign_store_and_day_paged_and_as_csv(engine, client, keys) -> None:
    scans(Ingestor(engine))
    expected = [("cmp-a", "s1", "2026-11-23", 2), ("cmp-a", "s1", "2026-11-24", 1),
                ("cmp-a", "s2", "2026-11-24", 1), ("cmp-b", "s2", "2026-11-23", 1)]  # fmt: skip
    seen, cursor = [], None
    while True:
        page = report(client, keys.marketer, "scans", limit=3,
                   **({"cursor": cursor} if cursor else {})).json()  # fmt: skip
        assert page["total_scans"] == 5
        seen += [(x["campaign_id"], x["store_id"], x["day"], x["scans"]) for x in page["items"]]
        if (cursor := page["next"]) is None:
            break
    assert seen == expected

    only = report(client, keys.marketer, "scans", campaign="cmp-a", store="s1").json()
    assert [x["scans"] for x in only["items"]] == [2, 1] and only["total_scans"] == 3
    # whole UTC days: a range inside the 24th counts all of the 24th
    day = report(client, keys.marketer, "scans", start="2026-11-24T12:00:00Z",
              end="2026-11-24T13:00:00Z").json()  # fmt: skip
    assert day["total_scans"] == 2 and {x["day"] for x in day["items"]} == {"2026-11-24"}
    funnel = client.get("/api/v1/funnel", params={"start": "2026-11-24T12:00:00Z",
                        "end": "2026-11-24T13:00:00Z"}, headers=bearer(keys.marketer))  # fmt: skip
    assert funnel.json()["campaign_scans"] == day["total_scans"]

    r = report(client, keys.marketer, "scans.csv", campaign="cmp-a")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["campaign_id", "store_id", "day", "scans"]
    assert [(x[0], x[1], x[2], int(x[3])) for x in rows[1:]] == expected[:3]
    assert r.text.endswith("\r\n")

    bad = client.get("/api/v1/campaign-reports/scans", params={"cursor": "bm9wZQ"},
                     headers=bearer(keys.marketer))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    backwards = client.get("/api/v1/campaign-reports/attribution",
                           params={"start": "2026-11-25T00:00:00Z", "end": "2026-11-24T00:00:00Z"},
                           headers=bearer(keys.marketer))  # fmt: skip
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "end"


def test_the_campaign_migration_goes_up_and_down(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0007")
        assert "campaigns" not in inspect(engine).get_table_names()
        migrate(engine, "0008")
        assert {"campaigns", "campaign_changes"} <= set(inspect(engine).get_table_names())
        now = datetime(2026, 12, 1, tzinfo=UTC)
        with write_transaction(engine) as conn:
            create(conn, CampaignIn.model_validate(campaign_body(id="c1")), now, "test")
        with engine.connect() as conn:
            assert get(conn, "c1").starts_on == date(2026, 12, 1)
        with write_transaction(engine) as conn:
            command.downgrade(alembic_config(conn), "0007")
        assert "campaigns" not in inspect(engine).get_table_names()
        migrate(engine)
        assert current_revision(engine) is not None
        assert "campaign_changes" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
