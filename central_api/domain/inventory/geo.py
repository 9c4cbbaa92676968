"""Distances on the Earth: the haversine formula, and the latitude/longitude box that
holds every point within a distance (the nearby search's SQL prefilter)."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: the mean Earth radius (IUGG), km: haversine on this sphere is within 0.5 % of the
#: ellipsoidal distance everywhere
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class Box:
    """Latitudes ``lat_min..lat_max`` and longitudes in any of ``lon_ranges``
    (two ranges when the box crosses the 180° meridian; none means every longitude)."""

    lat_min: float
    lat_max: float
    lon_ranges: tuple[tuple[float, float], ...]


def bounding_box(lat: float, lon: float, km: float) -> Box:
    """A box that contains every point within ``km`` of (lat, lon): a little larger
    than the circle, never smaller (the exact distance decides afterwards)."""
    dlat = math.degrees(km / EARTH_RADIUS_KM)
    lat_min, lat_max = lat - dlat, lat + dlat
    if lat_min <= -90 or lat_max >= 90:
        # the circle holds a pole: every longitude is within reach
        return Box(max(lat_min, -90.0), min(lat_max, 90.0), ())
    # the widest longitude span is at the latitude nearest a pole the circle reaches
    ratio = math.sin(km / EARTH_RADIUS_KM) / math.cos(math.radians(lat))
    if ratio >= 1:
        return Box(lat_min, lat_max, ())
    dlon = math.degrees(math.asin(ratio)) * 1.000001 + 1e-9
    lo, hi = lon - dlon, lon + dlon
    if lo < -180:
        return Box(lat_min, lat_max, ((lo + 360, 180.0), (-180.0, hi)))
    if hi > 180:
        return Box(lat_min, lat_max, ((lo, 180.0), (-180.0, hi - 360)))
    return Box(lat_min, lat_max, ((lo, hi),))
