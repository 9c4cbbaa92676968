"""``/api/v1/campaigns``: create, list, show, change and end, with errors that name the
field, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from central_api.store.campaign_tables import campaign_changes, campaigns
from tests.central.api.conftest import bearer

from .world import campaign_body


def call(client, key, method: str, path: str, json: Any = None, **params) -> Any:
    return client.request(method, f"/api/v1{path}", json=json, params=params, headers=bearer(key))


def test_create_show_list_change_end(client, keys, engine) -> None:
    r = call(client, keys.marketer, "POST", "/campaigns", campaign_body(id="cmp-1"))
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/campaigns/cmp-1"
    c = r.json()
    assert (c["id"], c["status"], c["revision"], c["stores"]) == (
        "cmp-1",
        "running",
        1,
        ["s1", "s2"],
    )
    assert c["offer"]["valid_until"] == "2026-12-24"
    assert call(client, keys.marketer, "GET", "/campaigns/cmp-1").json() == c

    made = call(client, keys.admin, "POST", "/campaigns",
                campaign_body(stores="all", starts_on="2098-01-01", offer={
                    "text": {"en": "Hi", "de": "Hallo", "fr": "Salut"},
                    "visual": {"kind": "image", "url": "https://cdn.example.com/a.png"}}))  # fmt: skip
    assert made.status_code == 201, made.text
    other = made.json()
    assert other["id"].startswith("cmp-") and other["status"] == "scheduled"
    # the offer's validity defaults to the campaign's dates
    assert (other["offer"]["valid_from"], other["offer"]["valid_until"]) == (
        "2098-01-01",
        "2099-12-31",
    )
    assert other["offer"]["text"] == {"en": "Hi", "de": "Hallo", "fr": "Salut"}

    first = call(client, keys.marketer, "GET", "/campaigns", limit=1).json()
    assert len(first["items"]) == 1 and first["next"]
    rest = call(client, keys.marketer, "GET", "/campaigns", limit=1, cursor=first["next"]).json()
    assert {first["items"][0]["id"], rest["items"][0]["id"]} == {"cmp-1", other["id"]}
    assert rest["next"] is None
    only_s3 = call(client, keys.marketer, "GET", "/campaigns", store="s3").json()["items"]
    assert [x["id"] for x in only_s3] == [other["id"]]  # "all" reaches s3, cmp-1 does not

    r = call(client, keys.marketer, "PATCH", "/campaigns/cmp-1", {"name": "Winter boots II",
             "stores": ["s2", "s3"]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["stores"], r.json()["revision"]) == (
        "Winter boots II", ["s2", "s3"], 2)  # fmt: skip
    same = call(client, keys.marketer, "PATCH", "/campaigns/cmp-1", {"name": "Winter boots II"})
    assert same.json()["revision"] == 2  # nothing changed, nothing written
    assert call(client, keys.marketer, "PATCH", "/campaigns/cmp-1", {}).json()["revision"] == 2

    ended = call(client, keys.marketer, "POST", "/campaigns/cmp-1/end")
    assert (
        ended.status_code == 200 and ended.json()["status"] == "ended" and ended.json()["ended_at"]
    )
    again = call(client, keys.marketer, "POST", "/campaigns/cmp-1/end")
    assert again.status_code == 409 and "ended" in again.json()["detail"]
    late = call(client, keys.marketer, "PATCH", "/campaigns/cmp-1", {"name": "x"})
    assert late.status_code == 409

    with engine.connect() as conn:
        log = conn.execute(select(campaign_changes.c.campaign_id, campaign_changes.c.action)
                           .order_by(campaign_changes.c.seq)).all()  # fmt: skip
        by = set(conn.execute(select(campaign_changes.c.by)).scalars())
    assert [tuple(x) for x in log] == [("cmp-1", "created"), (other["id"], "created"),
                                       ("cmp-1", "updated"), ("cmp-1", "ended")]  # fmt: skip
    assert len(by) == 2 and None not in by  # the marketer's and the admin's key ids


def test_conflicts(client, keys) -> None:
    assert (
        call(client, keys.marketer, "POST", "/campaigns", campaign_body(id="c1")).status_code == 201
    )
    dup = call(client, keys.marketer, "POST", "/campaigns", campaign_body(id="c1"))
    assert dup.status_code == 409 and "exists" in dup.json()["detail"]
    r = call(client, keys.marketer, "PATCH", "/campaigns/c1", {"ends_on": "2026-11-30"})
    assert r.status_code == 409 and "before starts_on" in r.json()["detail"]
    assert call(client, keys.marketer, "GET", "/campaigns/nope").status_code == 404
    assert call(client, keys.marketer, "PATCH", "/campaigns/nope", {"name": "x"}).status_code == 404
    assert call(client, keys.marketer, "POST", "/campaigns/nope/end").status_code == 404


def _offer(**over: Any) -> dict[str, Any]:
    return {**campaign_body()["offer"], **over}


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"channel": "sms"}, "channel", "direct_mail"),
        ({"name": "   "}, "name", "pattern"),
        ({"name": "two\nlines"}, "name", "pattern"),
        ({"landing_url": "ftp://shop.example.com/"}, "landing_url", "http"),
        ({"landing_url": "https://shop.example.com/a b"}, "landing_url", "spaces"),
        ({"landing_url": "https://" + "a" * 2000}, "landing_url", "2000"),
        ({"stores": []}, "stores", ""),
        ({"stores": ["s1", "s1"]}, "stores", "twice"),
        ({"stores": ["S1"]}, "stores", "not a store id"),
        ({"stores": "everywhere"}, "stores", ""),
        ({"starts_on": "2026-12-01T00:00:00Z"}, "starts_on", "YYYY-MM-DD"),
        ({"starts_on": 1764547200}, "starts_on", "YYYY-MM-DD"),
        ({"starts_on": "2026-02-30"}, "starts_on", "calendar day"),
        ({"ends_on": "2026-11-30"}, "", "ends_on must be on or after starts_on"),
        ({"offer": _offer(text={"en": "only English"})}, "offer.text.de", "required"),
        ({"offer": _offer(text={"en": "a", "de": "b", "xx": "c"})}, "offer.text.xx", "extra"),
        ({"offer": _offer(text={"en": "a" * 301, "de": "b"})}, "offer.text.en", "300"),
        ({"offer": _offer(visual={"kind": "asset", "name": "../etc/passwd"})},
         "offer.visual.asset.name", "pattern"),
        ({"offer": _offer(visual={"kind": "video", "url": "https://x.example/v"})},
         "offer.visual", "kind"),
        ({"offer": _offer(valid_from="2026-12-24", valid_until="2026-12-01")}, "offer",
         "valid_until must be on or after"),
        ({"id": "has space"}, "id", "pattern"),
        ({"budget": 10}, "budget", "extra"),
    ],
)  # fmt: skip
def test_bad_input_is_a_422_naming_the_field(client, keys, over, field, words) -> None:
    r = call(client, keys.marketer, "POST", "/campaigns", campaign_body(**over))
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert any(e["field"] == field and words.lower() in e["detail"].lower() + e["type"].lower()
               for e in errors), errors  # fmt: skip


def test_a_bad_change_is_refused_and_changes_nothing(client, keys, engine) -> None:
    assert (
        call(client, keys.marketer, "POST", "/campaigns", campaign_body(id="c1")).status_code == 201
    )
    r = call(client, keys.marketer, "PATCH", "/campaigns/c1", {"name": "ok", "landing_url": "nope"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "landing_url"
    with engine.connect() as conn:
        assert conn.execute(select(campaigns.c.name, campaigns.c.revision)).one() == (
            "Winter boots",
            1,
        )
