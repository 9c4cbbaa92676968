"""The customer's initials on an order: checked, kept NFC-normalised, part of the
idempotent body only when sent, pushed to the store only while the order is ready for
pickup, and gone with the customer's erasure."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from central_api.domain.identity.erasure import erase_profile
from central_api.domain.orders.push import pending
from central_api.store.db import write_transaction
from central_api.store.order_tables import order_records
from central_api.store.tables import metadata
from edge_sync.protocol import utcnow
from tests.central.api.conftest import bearer

from .support import STORE, order_body
from .test_orders_api import place


def upserts(engine) -> dict[str, dict]:
    _, messages = pending(engine, no_show_days=7)
    return {
        u["order_id"]: u for body in messages.get(STORE, []) for u in json.loads(body)["upserts"]
    }


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("J.D.", "J.D."), ("ÅB", "ÅB"), ("A\u030aB", "ÅB"), ("J. D. ", "J. D."), ("Жд", "Жд"),
     ("李", "李"), ("ABCD", "ABCD")],
)  # fmt: skip
def test_initials_are_kept_as_sent_in_nfc(client, keys, engine, sent, kept):
    o = place(client, keys, order_body(customer_initials=sent))
    assert o["customer_initials"] == kept
    with engine.connect() as c:
        row = c.execute(select(order_records).where(order_records.c.id == o["id"])).one()
    assert row.customer_initials == kept and row.request["customer_initials"] == kept


@pytest.mark.parametrize("bad", ["", "ABCDE", "J1", ".", " J", "J..D", "J_D", "J-D", "x" * 17, 7])
def test_bad_initials_are_a_422_naming_the_field(client, keys, bad):
    r = client.post(
        "/api/v1/orders", json=order_body(customer_initials=bad), headers=bearer(keys.integration)
    )
    assert r.status_code == 422, r.text
    (err,) = r.json()["errors"]
    assert err["field"] == "customer_initials", err
    if isinstance(bad, str):
        assert "one to four letters" in err["detail"], err


def test_initials_count_for_idempotency_only_when_sent(client, keys):
    plain = place(client, keys, order_body("WEB-I1"))
    assert plain["customer_initials"] is None
    assert place(client, keys, order_body("WEB-I1"), status=200)["id"] == plain["id"]
    r = client.post("/api/v1/orders", json=order_body("WEB-I1", customer_initials="J.D."),
                    headers=bearer(keys.integration))  # fmt: skip
    assert r.status_code == 409 and "customer_initials differs" in r.json()["detail"], r.text

    with_them = place(client, keys, order_body("WEB-I2", customer_initials="J.D."))
    again = place(client, keys, order_body("WEB-I2", customer_initials="J.D. "), status=200)
    assert again["id"] == with_them["id"]  # the same initials, normalised
    r = client.post("/api/v1/orders", json=order_body("WEB-I2"), headers=bearer(keys.integration))
    assert r.status_code == 409 and "customer_initials" in r.json()["detail"]


def test_the_store_gets_the_initials_only_while_the_order_is_ready(client, keys, engine):
    a = place(client, keys, order_body("WEB-I3", customer_initials="Ø.K."))
    b = place(client, keys, order_body("WEB-I4"))
    for o in (a, b):
        assert client.post(f"/api/v1/orders/{o['id']}/ready",
                           headers=bearer(keys.integration)).status_code == 200  # fmt: skip
    sent = upserts(engine)
    assert sent[a["id"]]["initials"] == "Ø.K." and sent[a["id"]]["state"] == "ready_for_pickup"
    assert "initials" in sent[b["id"]] and sent[b["id"]]["initials"] is None
    r = client.post(f"/api/v1/orders/{a['id']}/cancel", headers=bearer(keys.integration))
    assert r.status_code == 200
    after = upserts(engine)[a["id"]]
    assert after["state"] == "cancelled" and after["initials"] is None


def test_erasure_leaves_no_row_with_the_initials(client, keys, engine):
    o = place(client, keys, order_body("WEB-I5", customer_initials="Q.Z."))
    client.post(f"/api/v1/orders/{o['id']}/ready", headers=bearer(keys.integration))
    with write_transaction(engine) as conn:
        erase_profile(conn, o["profile_id"], "test", utcnow())
    with engine.connect() as c:
        for table in metadata.sorted_tables:
            for row in c.execute(select(table)):
                assert "Q.Z." not in repr(tuple(row)), f"{table.name}: {row}"
    assert upserts(engine) == {}  # nothing left to push either
