"""How much the router's spatial index saves: the same points routed by Router and by a plain scan.

Run: .venv/bin/python -m bench.router_vs_scan [N]. Prints both times and their ratio, measured in one run
on this machine, so the ratio holds whatever the machine's speed.
"""

from __future__ import annotations

import random
import sys
import time

import shapely
from shapely.geometry.base import BaseGeometry

from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.domain.types import Point

_PROJECTED: dict[str, BaseGeometry] = {}


def scan(city: City, point: Point) -> tuple[str, str, str | None]:
    """The naive answer to the same question: every territory, every grid, every road, lowest id first."""
    router = city.router
    at = shapely.Point(point.lon, point.lat)
    territory = next(t.unit_id for t in router.territories if t.shape.covers(at))
    grid = next(g.grid_id for g in router.grids if g.territorial_unit == territory and g.shape.covers(at))
    x, y = router.local.xy(point.lon, point.lat)
    here = shapely.Point(x, y)
    if not _PROJECTED:  # projected once, as the router does, so the comparison is about the index only
        _PROJECTED.update({r.name: router.local.project(r.shape) for r in router.roads})
    near = [(_PROJECTED[r.name].distance(here), r.name) for r in router.roads]
    road = min((d, name) for d, name in near if d <= 30.0)[1] if any(d <= 30.0 for d, _ in near) else None
    return territory, grid, road


def main(n: int) -> None:
    city = load_city(DEFAULT_CITY_DIR)
    rng = random.Random(7)
    west, south, east, north = city.router.bounds
    points = [Point(lon=rng.uniform(west, east), lat=rng.uniform(south, north)) for _ in range(n)]
    started = time.perf_counter()
    routed = [(r.territorial_unit, r.grid_id, r.road) for r in (city.router.route("street_vending", p) for p in points)]
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    scanned = [scan(city, p) for p in points]
    naive = time.perf_counter() - started
    assert routed == scanned, "the index and the scan disagree"
    print(f"{n} points: router {indexed / n * 1e6:.1f} µs/point (territory, grid, road, rule)")
    print(f"{n} points: scan   {naive / n * 1e6:.1f} µs/point (territory, grid, road)")
    print(f"ratio scan/router: {naive / indexed:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
