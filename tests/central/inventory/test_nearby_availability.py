"""Nearby stores by distance and availability by store, on both backends."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import Engine

from central_api.domain.inventory.geo import bounding_box, haversine_km
from central_api.domain.inventory.stock import availability, state_of
from central_api.domain.inventory.stores import (
    UnknownStore,
    get_store,
    list_stores,
    nearby_stores,
    stores_within,
)
from central_api.imports import stock, stores

from .helpers import STORE_HEADER, csv, run, seed

# Published great-circle distances (e.g. the geodesic on WGS 84): Paris (Notre-Dame) to
# London (Charing Cross) 343.9 km; Munich (Marienplatz) to Berlin (Alexanderplatz) 504.3 km.
PARIS, LONDON = (48.8530, 2.3499), (51.5073, -0.1276)
MUNICH, BERLIN = (48.1372, 11.5756), (52.5200, 13.4050)


@pytest.mark.parametrize(("a", "b", "km"), [(PARIS, LONDON, 343.9), (MUNICH, BERLIN, 504.3)])
def test_haversine_matches_published_distances(a, b, km) -> None:
    assert haversine_km(*a, *b) == pytest.approx(km, rel=0.005)
    assert haversine_km(*b, *a) == pytest.approx(haversine_km(*a, *b))
    assert haversine_km(*a, *a) == 0


@pytest.mark.parametrize(
    ("lat", "lon", "km"),
    [(48.1, 11.5, 50), (0, 179.9, 100), (0, -179.95, 30), (89.5, 0, 100), (-70, 10, 800)],
)
def test_the_box_holds_every_point_within_reach(lat, lon, km) -> None:
    box = bounding_box(lat, lon, km)
    # points on the circle (a bit inside) in 72 directions, by walking the great circle
    r = (km * 0.9999) / 6371.0088
    for i in range(72):
        bearing = math.radians(i * 5)
        p1, l1 = math.radians(lat), math.radians(lon)
        p2 = math.asin(math.sin(p1) * math.cos(r) + math.cos(p1) * math.sin(r) * math.cos(bearing))
        l2 = l1 + math.atan2(math.sin(bearing) * math.sin(r) * math.cos(p1),
                             math.cos(r) - math.sin(p1) * math.sin(p2))  # fmt: skip
        plat, plon = math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
        assert haversine_km(lat, lon, plat, plon) <= km
        assert box.lat_min <= plat <= box.lat_max, (i, plat)
        assert not box.lon_ranges or any(lo <= plon <= hi for lo, hi in box.lon_ranges), (i, plon)


def test_nearby_stores_nearest_first(engine: Engine) -> None:
    seed(engine)  # Munich, Berlin, Augsburg
    with engine.connect() as conn:
        near = nearby_stores(conn, "s-muc", 100)
        assert [(n.store["id"], round(n.distance_km)) for n in near] == [("s-aug", 56)]
        far = nearby_stores(conn, "s-muc", 600)
        assert [n.store["id"] for n in far] == ["s-aug", "s-ber"]
        assert far[1].distance_km == pytest.approx(504.3, rel=0.005)
        assert nearby_stores(conn, "s-muc", 50) == []
        with pytest.raises(UnknownStore):
            nearby_stores(conn, "s-none", 10)


def test_nearby_across_the_date_line(engine: Engine) -> None:
    rows = [["e", "East", "a", "-16.5", "179.95", "Pacific/Fiji", ""],
            ["w", "West", "b", "-16.5", "-179.95", "Pacific/Fiji", ""],
            ["f", "Far", "c", "-16.5", "178.0", "Pacific/Fiji", ""]]  # fmt: skip
    run(engine, stores.KIND, csv(STORE_HEADER, rows))
    with engine.connect() as conn:
        found = stores_within(conn, -16.5, 179.95, 50)
    assert [(n.store["id"], round(n.distance_km, 1)) for n in found] == [("e", 0.0), ("w", 10.7)]


def test_states_at_the_threshold_boundaries() -> None:
    assert state_of(0, 3) == "out"
    assert state_of(1, 3) == "low"
    assert state_of(3, 3) == "low"
    assert state_of(4, 3) == "in_stock"
    assert state_of(1, 0) == "in_stock"  # threshold 0: never low
    assert state_of(0, 0) == "out"


def test_availability_gates_exact_numbers_by_store(engine: Engine) -> None:
    seed(engine)
    # A-2 is gone from s-muc's next file: a tombstone reads as out, not stocked
    run(engine, stock.KIND, csv(["store_id", "sku", "quantity", "low_threshold"],
                                [["s-muc", "A-1", "3", "3"]]), at=1)  # fmt: skip
    with engine.connect() as conn:
        every = list_stores(conn)
        a1 = {a["store_id"]: a for a in availability(conn, "A-1", every)}
        a2 = {a["store_id"]: a for a in availability(conn, "A-2", [get_store(conn, "s-muc")])}
    # Munich shows numbers: low at the threshold; Berlin does not: out (and no number)
    assert (a1["s-muc"]["state"], a1["s-muc"]["quantity"]) == ("low", 3)
    assert (a1["s-ber"]["state"], a1["s-ber"]["quantity"], a1["s-ber"]["stocked"]) == (
        "out",
        None,
        True,
    )
    # Augsburg has no stock at all
    assert a1["s-aug"] == {"store_id": "s-aug", "state": "out", "stocked": False,
                           "quantity": None, "as_of": None}  # fmt: skip
    assert (a2["s-muc"]["state"], a2["s-muc"]["stocked"], a2["s-muc"]["quantity"]) == (
        "out",
        False,
        0,
    )
