"""An order that becomes due for pickup (or stops being due) moves the store's feed,
so a device that starts from the snapshot has every order due; that version's delta
has no change ops but carries the orders due, as the snapshot does, for a device that
follows by delta."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from central_api.app import create_app
from central_api.domain.orders.records import CodeIssuer
from central_api.domain.tokens.keystore import KeyStore
from tests.central.api.conftest import Keys, bearer
from tests.central.orders.support import order_body

from .world import (
    apply,
    content,
    delta_changes,
    delta_pickups,
    ops,
    seed,
    set_staff,
    snapshot_bytes,
    step,
)


def test_ready_and_cancelled_orders_move_the_feed_with_the_orders_due_in_the_delta(
    engine: Engine, keys: Keys, tmp_path: Path
) -> None:
    seed(engine)
    assert step(engine, "s-muc") is not None and step(engine, "s-aug") is not None
    store = KeyStore(tmp_path / "keys", "shop.example.com")
    store.ensure()
    app = create_app(engine, order_codes=CodeIssuer(store.signer, no_show_days=7))
    with TestClient(app, raise_server_exceptions=True) as client:
        h = bearer(keys.integration)
        r = client.post("/api/v1/orders", json=order_body(store_id="s-muc"), headers=h)
        assert r.status_code == 201, r.text
        order_id = r.json()["id"]
        assert step(engine, "s-muc", at=1) is None  # placed is not due yet
        assert client.post(f"/api/v1/orders/{order_id}/ready", headers=h).status_code == 200
        moved = step(engine, "s-muc", at=2)
        assert moved is not None and moved.version == 2 and moved.delta
        assert delta_changes(engine, "s-muc", 2) == []
        snap = json.loads(snapshot_bytes(engine, "s-muc", 2))
        (due,) = snap["pickups"]
        assert due["order_id"] == order_id and due["state"] == "ready_for_pickup"
        assert delta_pickups(engine, "s-muc", 2) == (snap["pickups"], snap["built_at"])
        before = content(snapshot_bytes(engine, "s-muc", 1), "s-muc")
        assert apply(before, [], snap["pickups"]) == content(
            snapshot_bytes(engine, "s-muc", 2), "s-muc"
        )
        assert step(engine, "s-aug", at=2) is None  # another store's order: not Augsburg's
        assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=h).status_code == 200
        assert step(engine, "s-muc", at=3).version == 3  # type: ignore[union-attr]
        assert json.loads(snapshot_bytes(engine, "s-muc", 3))["pickups"] == []
        assert delta_pickups(engine, "s-muc", 3)[0] == []  # the order left the list
        # a change that leaves the orders due as they were sends no list
        set_staff(engine, "s-muc", "ben", "Ben", "731902")
        assert step(engine, "s-muc", at=4).version == 4  # type: ignore[union-attr]
        assert ops(delta_changes(engine, "s-muc", 4)) == ["staff"]
        assert delta_pickups(engine, "s-muc", 4) is None
