"""Distances on the earth's surface, for ranking locations by how far they ship."""

from __future__ import annotations

from collections.abc import Callable
from math import asin, cos, radians, sin, sqrt

from services.orchestration.domain.routing.model import GeoPoint

# The mean earth radius (IUGG): a sphere is accurate to well under 1% for ranking locations.
EARTH_RADIUS_KM = 6371.0088


def great_circle_km(a: GeoPoint, b: GeoPoint) -> float:
    """The great-circle distance between two points, by the haversine formula (stable for
    short distances, where the spherical law of cosines loses precision)."""
    return km_to(b)(a)


def km_to(b: GeoPoint) -> Callable[[GeoPoint], float]:
    """great_circle_km(a, b) for many a and one b (an order's address, every candidate
    location): b's own terms are worked out once."""
    lat_b = radians(b.lat)
    cos_b = cos(lat_b)
    lon_b = b.lon

    def km_from(a: GeoPoint) -> float:
        lat_a = radians(a.lat)
        h = (
            sin((lat_b - lat_a) / 2) ** 2
            + cos(lat_a) * cos_b * sin(radians(lon_b - a.lon) / 2) ** 2
        )
        # min() guards asin against rounding just above 1 for antipodal points.
        return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))

    return km_from
