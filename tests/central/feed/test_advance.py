"""A store's feed moves one version per change it must see, and only then: each kind
of change gives its op, the delta applied to the previous snapshot gives the new one,
and the stored bytes are what the checksum is over."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from central_api.domain.store_feed import feed as feed_module
from central_api.domain.store_feed.feed import commit, prepare
from central_api.domain.store_feed.push import pending
from central_api.domain.store_feed.sources import FeedSettings
from central_api.store.db import write_transaction
from edge_sync.protocol.store_data import body_sha256, canonical

from .world import (
    CATALOG,
    CATALOG_HEADER,
    SETTINGS,
    STOCK,
    STORE_HEADER,
    STORES,
    T0,
    apply,
    catalog,
    content,
    csv,
    delta_changes,
    delta_pickups,
    import_stock,
    ops,
    remove_staff,
    run,
    seed,
    set_staff,
    snapshot_bytes,
    snapshot_versions,
    step,
    stores,
)

STORES_IDS = ("s-aug", "s-ber", "s-muc")


def advance_all(engine: Engine, at: int = 0) -> dict[str, int]:
    """The stores whose feed moved, and to which version."""
    return {s: a.version for s in STORES_IDS if (a := step(engine, s, at)) is not None}


def check_chain(engine: Engine, store: str, version: int) -> list[list]:
    """The delta to ``version`` applied to the snapshot before equals its snapshot."""
    changes = delta_changes(engine, store, version)
    assert changes is not None, f"no delta to {store} v{version}"
    before = content(snapshot_bytes(engine, store, version - 1), store)
    after = content(snapshot_bytes(engine, store, version), store)
    carried = delta_pickups(engine, store, version)
    assert apply(before, changes, carried[0] if carried else None) == after
    return changes


def test_first_version_is_a_snapshot_without_a_delta_and_then_nothing_moves(engine):
    seed(engine)
    assert advance_all(engine) == {"s-aug": 1, "s-ber": 1, "s-muc": 1}
    assert delta_changes(engine, "s-muc", 1) is None
    assert advance_all(engine, at=1) == {}
    snap = json.loads(snapshot_bytes(engine, "s-muc", 1))
    assert [p[0] for p in snap["products"]] == ["A-1", "A-2", "A-3"]
    assert snap["stock"] == [["A-1", 10, 3], ["A-2", 3, 3]]
    assert [n["id"] for n in snap["nearby_stores"]] == ["s-aug"]
    assert snap["nearby_stores"][0]["distance_km"] == pytest.approx(56.5, abs=0.1)
    assert snap["store"]["id"] == "s-muc" and snap["store"]["stock_as_of"] is not None
    # Berlin is 500 km away: nobody's neighbour
    assert json.loads(snapshot_bytes(engine, "s-ber", 1))["nearby_stores"] == []


def test_the_stored_bytes_are_canonical_and_what_the_manifest_names(engine):
    seed(engine)
    step(engine, "s-muc")
    body = snapshot_bytes(engine, "s-muc", 1)
    assert canonical(json.loads(body)) == body  # equal state, equal bytes
    _, manifests = pending(engine)
    m = manifests["s-muc"]
    assert (m.version, m.sha256, m.size) == (1, body_sha256(body), len(body))
    doc = json.loads(m.body())
    assert doc["snapshot_url"] == "/api/v1/stores/s-muc/snapshot?version=1"


def test_same_stock_again_moves_nothing_and_later_only_its_as_of_time(engine):
    seed(engine)
    advance_all(engine)
    s_muc = [r for r in STOCK if r[0] == "s-muc"]
    import_stock(engine, s_muc, at=0)  # the same file at the same time: nothing changed
    assert advance_all(engine) == {}
    import_stock(engine, s_muc, at=10)  # later: the same stock, stated again
    assert advance_all(engine, at=10) == {"s-muc": 2, "s-aug": 2}
    assert check_chain(engine, "s-muc", 2) == [["store", json.loads(
        snapshot_bytes(engine, "s-muc", 2))["store"]]]  # fmt: skip
    (op,) = check_chain(engine, "s-aug", 2)  # the neighbour's as-of time moved
    assert (
        op[0] == "ns"
        and op[1]["id"] == "s-muc"
        and op[1]["stock_as_of"].startswith("2026-12-01T09:10")
    )


def test_stock_changes_and_tombstones_reach_the_store_and_its_neighbour(engine):
    seed(engine)
    advance_all(engine)
    # s-muc: A-1 changes, A-2 is no longer listed (a tombstone), A-3 is new
    import_stock(engine, [["s-muc", "A-1", "4", "3"], ["s-muc", "A-3", "2", "1"]], at=5)
    assert advance_all(engine, at=5) == {"s-muc": 2, "s-aug": 2}
    own = check_chain(engine, "s-muc", 2)
    assert [c for c in own if c[0] in ("s", "s-")] == [["s", "A-1", 4, 3], ["s-", "A-2"],
                                                       ["s", "A-3", 2, 1]]  # fmt: skip
    near = check_chain(engine, "s-aug", 2)
    assert [c for c in near if c[0] in ("n", "n-")] == [
        ["n", "s-muc", "A-1", 4, 3], ["n-", "s-muc", "A-2"], ["n", "s-muc", "A-3", 2, 1]
    ]  # fmt: skip
    assert ops(near) == ["n", "n-", "ns"]  # (and the neighbour's as-of time)
    # Berlin is not near: its feed stayed
    assert snapshot_versions(engine, "s-ber") == [1]


def test_a_product_change_reaches_every_store(engine):
    seed(engine)
    advance_all(engine)
    changed = [[*CATALOG[0][:2], "Spade XL", *CATALOG[0][3:]]]
    run(engine, catalog.KIND, csv(CATALOG_HEADER, changed), at=3)
    assert advance_all(engine, at=3) == {s: 2 for s in STORES_IDS}
    for s in STORES_IDS:
        (op,) = check_chain(engine, s, 2)
        assert op[:4] == ["p", "A-1", "4006381333931", "Spade XL"]


def test_staff_changes_are_staff_ops_and_the_same_pin_again_is_no_change(engine):
    seed(engine)
    advance_all(engine)
    assert set_staff(engine, "s-muc", "anna", "Anna K.", "480215")
    assert advance_all(engine) == {"s-muc": 2}
    (op,) = check_chain(engine, "s-muc", 2)
    assert op[0] == "staff" and op[1]["staff_id"] == "anna" and op[1]["name"] == "Anna K."
    assert op[1]["pin_hash"].startswith("scrypt$") and "480215" not in json.dumps(op)
    assert not set_staff(engine, "s-muc", "anna", "Anna K.", "480215")
    assert advance_all(engine) == {}
    remove_staff(engine, "s-muc", "anna")
    assert advance_all(engine) == {"s-muc": 3}
    assert check_chain(engine, "s-muc", 3) == [["staff-", "anna"]]
    assert json.loads(snapshot_bytes(engine, "s-muc", 3))["staff"] == []


def test_a_store_that_moves_away_leaves_its_neighbours_feed(engine):
    seed(engine)
    advance_all(engine)
    moved = [r[:] for r in STORES if r[0] == "s-aug"]
    moved[0][3:5] = ["53.5511", "9.9937"]  # Augsburg "moves" to Hamburg
    run(engine, stores.KIND, csv(STORE_HEADER, moved), at=2)
    assert advance_all(engine, at=2) == {"s-muc": 2, "s-aug": 2}
    assert check_chain(engine, "s-muc", 2) == [["ns-", "s-aug"]]
    own, gone = check_chain(engine, "s-aug", 2)  # and Munich is no longer near it
    assert own[0] == "store" and own[1]["latitude"] == 53.5511
    assert gone == ["ns-", "s-muc"]
    # and back: added again with its stock
    run(engine, stores.KIND, csv(STORE_HEADER, [r for r in STORES if r[0] == "s-aug"]), at=3)
    assert advance_all(engine, at=3) == {"s-muc": 3, "s-aug": 3}
    assert ops(check_chain(engine, "s-muc", 3)) == ["ns"]  # s-aug has no stock rows


def test_only_the_last_two_snapshots_are_kept(engine):
    seed(engine)
    for i in range(4):
        set_staff(engine, "s-ber", f"m{i}", f"Member {i}", "480215")
        step(engine, "s-ber", at=i)
    assert snapshot_versions(engine, "s-ber") == [3, 4]


def test_too_many_changes_give_no_delta(engine, monkeypatch):
    seed(engine)
    step(engine, "s-muc")
    monkeypatch.setattr(feed_module, "MAX_DELTA_CHANGES", 2)
    import_stock(engine, [["s-muc", "A-1", "1", "0"], ["s-muc", "A-3", "1", "0"]], at=4)
    moved = step(engine, "s-muc", at=4)
    assert moved is not None and moved.version == 2 and not moved.delta and moved.changes == 4
    assert delta_changes(engine, "s-muc", 2) is None
    assert snapshot_versions(engine, "s-muc") == [1, 2]


def test_of_two_processes_advancing_one_feed_only_the_first_commits(engine):
    seed(engine)
    step(engine, "s-muc")
    set_staff(engine, "s-muc", "anna", "Anna K.", "480215")
    now = T0 + timedelta(minutes=1)
    with engine.connect() as conn, conn.begin():
        a = prepare(conn, "s-muc", now, SETTINGS)
    with engine.connect() as conn, conn.begin():
        b = prepare(conn, "s-muc", now, SETTINGS)
    assert a is not None and b is not None and a.version == b.version == 2
    with write_transaction(engine) as conn:
        assert commit(conn, a)
    with write_transaction(engine) as conn:
        assert not commit(conn, b)  # the feed is no longer at b's base
    assert snapshot_versions(engine, "s-muc") == [1, 2]


def test_nearby_max_and_radius_come_from_the_settings(engine):
    seed(engine)
    none = FeedSettings(nearby_km=100.0, nearby_max=0)
    with engine.connect() as conn, conn.begin():
        p = prepare(conn, "s-muc", T0, none)
    assert p is not None and json.loads(p.body)["nearby_stores"] == []
    near = FeedSettings(nearby_km=50.0, nearby_max=5)  # Augsburg is 56 km away
    with engine.connect() as conn, conn.begin():
        p = prepare(conn, "s-muc", T0, near)
    assert p is not None and json.loads(p.body)["nearby_stores"] == []
