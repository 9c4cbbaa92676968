"""POST /api/v1/orders is idempotent by external id; states move only as allowed, each
change with its history; "ready" issues a pickup code whose QR holds its URL; an API
order counts as the profile's order for journeys and campaign attribution."""

from __future__ import annotations

from datetime import date

import cv2
import numpy as np
import pytest
import zxingcpp
from sqlalchemy import select

from central_api.domain.campaigns.reads import order_events
from central_api.domain.tokens.revocations import in_force
from central_api.store.order_tables import pickup_pushes
from central_api.store.profile_tables import orders, profile_aliases
from central_api.store.token_tables import token_revocations
from edge_sync.protocol.tokens import (
    InvalidToken,
    Kind,
    Reason,
    Revocations,
    order_scope,
    scope_hash,
    verify,
)
from tests.central.api.conftest import bearer

from .support import STORE, order_body


def place(client, keys, body, status=201):
    r = client.post("/api/v1/orders", json=body, headers=bearer(keys.integration))
    assert r.status_code == status, r.text
    return r.json()


def test_the_same_body_is_the_same_order_and_another_body_is_409_naming_what_differs(
    client, keys, engine
):
    first = place(client, keys, order_body())
    assert first["state"] == "placed" and first["items"] == 3 and first["value"] == 210.0
    again = place(client, keys, order_body(), status=200)
    assert again["id"] == first["id"]
    other = order_body(lines=[{"sku": "SKU-1", "quantity": 2, "unit_price": 199.0}])
    r = client.post("/api/v1/orders", json=other, headers=bearer(keys.integration))
    assert r.status_code == 409
    assert r.json()["detail"].startswith(f"external_id WEB-1 is order {first['id']}")
    assert "lines differs" in r.json()["detail"]
    r = client.post(
        "/api/v1/orders", json=order_body(store_id="s043", customer_id="C-9"),
        headers=bearer(keys.integration),
    )  # fmt: skip
    assert r.status_code == 409 and "customer_id, store_id differ" in r.json()["detail"]
    with engine.connect() as c:
        # one order, owned by the customer's profile, with one order.placed fact
        (owner,) = c.execute(select(orders.c.profile_id)).scalars().all()
        alias = c.execute(
            select(profile_aliases.c.profile_id).where(profile_aliases.c.value == "C-100")
        ).scalar_one()
        assert owner == alias == first["profile_id"]
        placed = order_events(c, [owner])
    assert [(o.order_id, o.kind) for o in placed] == [(first["id"], "order")]


def test_an_order_names_its_customer_and_bad_input_is_a_422_with_the_field(client, keys):
    body = order_body()
    del body["customer_id"]
    r = client.post("/api/v1/orders", json=body, headers=bearer(keys.integration))
    assert r.status_code == 422 and "customer_id or email_sha256" in r.text
    r = client.post("/api/v1/orders", json=order_body(lines=[]), headers=bearer(keys.integration))
    assert r.status_code == 422 and "lines" in r.text
    big = [{"sku": f"S{i}", "quantity": 1000, "unit_price": 1_000_000} for i in range(11)]
    r = client.post("/api/v1/orders", json=order_body(lines=big), headers=bearer(keys.integration))
    assert r.status_code == 409 and "more than 10,000,000" in r.json()["detail"]
    r = client.post("/api/v1/orders", json=order_body(), headers=bearer(keys.marketer))
    assert r.status_code == 403


def test_ready_issues_a_pickup_code_for_the_store_with_its_qr(client, keys, engine, key_store):
    o = place(client, keys, order_body())
    r = client.post(f"/api/v1/orders/{o['id']}/ready", headers=bearer(keys.integration))
    assert r.status_code == 200, r.text
    ready = r.json()
    code = ready["pickup_code"]
    assert ready["state"] == "ready_for_pickup" and ready["revision"] == 2
    token = verify(code["url"], key_store.keyring(), store_id=STORE, kinds=[Kind.ORDER])
    assert token.fields.subject == o["id"] and token.token_hash == code["token_hash"]
    png = client.get(code["png"], headers=bearer(keys.integration))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    (found,) = zxingcpp.read_barcodes(image)
    assert found.text == code["url"]
    svg = client.get(code["svg"], headers=bearer(keys.integration))
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    with engine.connect() as c:
        assert c.execute(select(pickup_pushes.c.order_id)).scalars().all() == [o["id"]]
    got = client.get(f"/api/v1/orders/{o['id']}", headers=bearer(keys.marketer)).json()
    assert [(h["state"], h["source"]) for h in got["history"]] == [
        ("placed", "api"), ("ready_for_pickup", "api"),
    ]  # fmt: skip
    assert got["history"][1]["by"] == keys.integration.split("_")[1]


@pytest.mark.parametrize(
    ("steps", "forbidden", "message"),
    [
        (["ready"], "ready", "is ready_for_pickup: it cannot become ready_for_pickup"),
        (["cancel"], "ready", "is cancelled: it cannot become ready_for_pickup (it is final)"),
        (["cancel"], "cancel", "is cancelled: it cannot become cancelled (it is final)"),
    ],
)
def test_forbidden_transitions_are_409_saying_what_is_allowed(
    client, keys, steps, forbidden, message
):
    o = place(client, keys, order_body())
    for step in steps:
        r = client.post(f"/api/v1/orders/{o['id']}/{step}", headers=bearer(keys.integration))
        assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/orders/{o['id']}/{forbidden}", headers=bearer(keys.integration))
    assert r.status_code == 409, r.text
    assert message in r.json()["detail"]


def test_cancel_after_ready_revokes_the_code_and_tells_the_store(client, keys, engine, key_store):
    o = place(client, keys, order_body())
    url = client.post(f"/api/v1/orders/{o['id']}/ready", headers=bearer(keys.integration)).json()[
        "pickup_code"
    ]["url"]
    r = client.post(f"/api/v1/orders/{o['id']}/cancel", headers=bearer(keys.integration))
    assert r.json()["state"] == "cancelled"
    with engine.connect() as c:
        revoked = set(c.execute(select(token_revocations.c.scope_hash)).scalars())
        pushes = c.execute(select(pickup_pushes.c.order_id)).scalars().all()
    assert scope_hash(order_scope(o["id"])) in revoked
    assert pushes == [o["id"], o["id"]]
    # a kiosk with central's list refuses the code
    with engine.connect() as c:
        listed = Revocations(in_force(c, date.today()))
    with pytest.raises(InvalidToken) as exc:
        verify(url, key_store.keyring(), store_id=STORE, revoked=listed)
    assert exc.value.reason is Reason.REVOKED


def test_listing_filters_by_store_and_state_and_pages(client, keys):
    ids = [place(client, keys, order_body(f"WEB-{i}"))["id"] for i in range(5)]
    place(client, keys, order_body("WEB-X", store_id="s043"))
    client.post(f"/api/v1/orders/{ids[0]}/ready", headers=bearer(keys.integration))
    h = bearer(keys.marketer)
    r = client.get("/api/v1/orders", params={"store": STORE, "limit": 2}, headers=h).json()
    seen = [o["id"] for o in r["items"]]
    while r["next"]:
        r = client.get(
            "/api/v1/orders", params={"store": STORE, "limit": 2, "cursor": r["next"]}, headers=h
        ).json()
        seen += [o["id"] for o in r["items"]]
    assert seen == sorted(ids)
    r = client.get("/api/v1/orders", params={"state": "ready_for_pickup"}, headers=h).json()
    assert [o["id"] for o in r["items"]] == [ids[0]]
    assert client.get("/api/v1/orders/o-00000000", headers=h).status_code == 404
    code = client.get(
        "/api/v1/orders/" + ids[1] + "/pickup-code.png", headers=bearer(keys.integration)
    )
    assert code.status_code == 404 and "no pickup code yet" in code.json()["detail"]


def test_erasing_the_customer_removes_the_orders_and_revokes_their_codes(client, keys, engine):
    from central_api.domain.identity.erasure import erase_profile
    from central_api.store.db import write_transaction
    from central_api.store.order_tables import order_history, order_records
    from edge_sync.protocol import utcnow

    o = place(client, keys, order_body())
    client.post(f"/api/v1/orders/{o['id']}/ready", headers=bearer(keys.integration))
    with write_transaction(engine) as conn:
        counts = erase_profile(conn, o["profile_id"], "test", utcnow())
    assert counts["order_records"] == 1 and counts["order_history"] == 2
    with engine.connect() as c:
        assert c.execute(select(order_records)).all() == []
        assert c.execute(select(order_history)).all() == []
        revoked = set(c.execute(select(token_revocations.c.scope_hash)).scalars())
    assert scope_hash(order_scope(o["id"])) in revoked
    assert client.get(f"/api/v1/orders/{o['id']}", headers=bearer(keys.marketer)).status_code == 404
