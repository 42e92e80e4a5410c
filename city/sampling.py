"""Points inside a city, for the demo, scenario tests and simulations: found through the router itself."""

from __future__ import annotations

from typing import Any

from rectify.domain.errors import OutsideDistrict
from rectify.domain.types import Point

_CACHE: dict[tuple[int, float], tuple[Point, ...]] = {}


def inside_points(city: Any, step: float = 0.008) -> tuple[Point, ...]:
    """A regular lattice over the district that the router accepts, in a stable order (computed once)."""
    key = (id(city), step)
    if key not in _CACHE:
        _CACHE[key] = _lattice(city, step)
    return _CACHE[key]


def _lattice(city: Any, step: float) -> tuple[Point, ...]:
    category = next(iter(city.policy.categories))
    min_lon, min_lat, max_lon, max_lat = city.router.bounds
    found: list[Point] = []
    lon = min_lon + step / 2
    while lon < max_lon:
        lat = min_lat + step / 2
        while lat < max_lat:
            point = Point(lon=round(lon, 5), lat=round(lat, 5))
            try:
                city.router.route(category, point)
            except OutsideDistrict:
                pass
            else:
                found.append(point)
            lat += step
        lon += step
    return tuple(found)


def point_in(city: Any, territorial_unit: str | None = None, *, index: int = 0) -> Point:
    """A point inside the district, and inside `territorial_unit` when given; `index` picks among them."""
    category = next(iter(city.policy.categories))
    matches = [
        p
        for p in inside_points(city)
        if territorial_unit is None or city.router.route(category, p).territorial_unit == territorial_unit
    ]
    if not matches:
        raise LookupError(f"no lattice point inside {territorial_unit}")
    return matches[index % len(matches)]
