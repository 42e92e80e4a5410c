"""The responsibility router: (category, point) -> who is responsible, and which rule decided it.

属地镇街主抓、职能部门主管、包保部门同责联创, plus 路长制 and 网格化管理: every answer names the
territorial unit, the grid (and its chief), the community and its guarantee unit (包保单位), and the
road and its chief when the point lies within a road's buffer. The lead unit depends on the
category's `lead` rule; `Routing.rule` records which rule decided:

- ``territorial``: 属地主抓 — the street/town containing the point leads.
- ``department``: 职能主管 — the category's `lead_department` leads, wherever the point is.
- ``road_chief``: 路长制 — the chief unit of the road the point lies on leads.
- ``territorial_fallback``: a road-chief category reported away from every road; the street/town leads.

Pure computation over already-parsed geometry (shapely), no I/O, so it is deterministic and safe
inside the workflow sandbox. Coordinates are WGS84 lon/lat; metre distances use a local
equirectangular projection, exact to well under a metre across a district.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from rectify.domain.errors import OutsideDistrict, UnknownCategory
from rectify.domain.policy import Policy
from rectify.domain.types import FALLBACK_RULE, Point, Routing

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True)
class Territory:
    """A street (街道) or town (镇): the unit that leads territorially inside `shape`."""

    unit_id: str
    name: str
    shape: BaseGeometry


@dataclass(frozen=True)
class Grid:
    """A grid (网格) of one territory, run by a chief and two members (一长两员)."""

    grid_id: str
    name: str
    territorial_unit: str
    community: str
    guarantee_unit: str | None
    chief: str
    members: tuple[str, ...]
    shape: BaseGeometry


@dataclass(frozen=True)
class Road:
    """A road under a road chief (路长制); a point within `buffer_m` metres of the line is on it."""

    name: str
    road_chief: str
    buffer_m: float
    shape: BaseGeometry


class LocalMetres:
    """An equirectangular projection around (lon0, lat0): lon/lat degrees -> metres east/north.

    Exact enough at city scale (the scale error across 20 km of latitude is about 0.1%), and an affine
    map, so lines stay lines and distances are plain Euclidean ones.
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * _M_PER_DEG_LAT

    def project(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geometry, lambda c: (c - [self.lon0, self.lat0]) * [self.kx, _M_PER_DEG_LAT])

    def unproject(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geometry, lambda c: c / [self.kx, _M_PER_DEG_LAT] + [self.lon0, self.lat0])

    def square_metres(self, square_degrees: float) -> float:
        return square_degrees * self.kx * _M_PER_DEG_LAT


def metres_between(a: Point, b: Point) -> float:
    """Distance in metres between two nearby points (the duplicate radius, tests of road buffers).

    Projects around the two points' midpoint rather than a fixed district centre, so it needs no
    city and stays exact for any two points a few kilometres apart.
    """
    local = LocalMetres((a.lon + b.lon) / 2, (a.lat + b.lat) / 2)
    (x1, y1), (x2, y2) = local.xy(a.lon, a.lat), local.xy(b.lon, b.lat)
    return math.hypot(x2 - x1, y2 - y1)


class Router:
    """Routes a (category, point) to its responsible units; built once per city, then read-only.

    Border rule: a point on a boundary is covered by every polygon sharing that boundary. Among the
    territories covering the point the one with the lowest unit id wins; among that territory's grids
    covering the point the one with the lowest grid id wins. Among the roads whose buffer holds the
    point the nearest wins, ties going to the lowest name (by code point). So every point has one answer,
    whatever order the data files list their features in.

    Speed: one STRtree over every layer (territories, grids, and each road's buffer widened slightly
    as a polygon in lon/lat) answers a point with a single query; the exact metre distance to a road is
    computed only for the few roads whose widened buffer was hit.
    """

    def __init__(
        self,
        policy: Policy,
        district: BaseGeometry,
        territories: Sequence[Territory],
        grids: Sequence[Grid],
        roads: Sequence[Road],
    ) -> None:
        self.policy = policy
        self.district = district
        shapely.prepare(district)
        # Sorted by id, so the lowest index among the hits of a layer is the lowest id (the border rule).
        self.territories = sorted(territories, key=lambda t: t.unit_id)
        self.grids = sorted(grids, key=lambda g: g.grid_id)
        self.roads = sorted(roads, key=lambda r: r.name)
        centre = district.centroid
        self.local = LocalMetres(centre.x, centre.y)
        self._road_lines = [self.local.project(r.shape) for r in self.roads]
        # The buffer polygon only pre-selects; widened by 1% + 1 m it contains the true round-capped
        # buffer despite its polygonal approximation, and the exact distance decides.
        road_zones = [
            self.local.unproject(line.buffer(road.buffer_m * 1.01 + 1.0))
            for road, line in zip(self.roads, self._road_lines, strict=True)
        ]
        self._grids_from = len(self.territories)
        self._roads_from = self._grids_from + len(self.grids)
        self._tree = STRtree([*(t.shape for t in self.territories), *(g.shape for g in self.grids), *road_zones])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) of the district."""
        min_lon, min_lat, max_lon, max_lat = self.district.bounds
        return min_lon, min_lat, max_lon, max_lat

    def route(self, category: str, point: Point) -> Routing:
        """Who leads and who shares responsibility for `category` at `point`.

        Raises `UnknownCategory` for a category the policy does not define and `OutsideDistrict` for
        a point the district does not cover (its boundary counts as inside).
        """
        spec = self.policy.categories.get(category)
        if spec is None:
            known = ", ".join(sorted(self.policy.categories))
            raise UnknownCategory(f"unknown category {category!r}; known: {known}")
        at = shapely.Point(point.lon, point.lat)
        if not self.district.covers(at):
            raise OutsideDistrict(f"point (lon {point.lon}, lat {point.lat}) is outside {self.policy.city}")
        territory, grid, near_roads = self._layers_at(at)
        if territory is None:  # the loader forbids gaps; a hand-built router still gets a clear answer
            raise OutsideDistrict(f"point (lon {point.lon}, lat {point.lat}) lies in no street or town")
        road = self._nearest_road(point, near_roads)
        if spec.lead == "department":
            lead, rule = spec.lead_department, "department"
        elif spec.lead == "road_chief" and road is not None:
            lead, rule = road.road_chief, "road_chief"
        elif spec.lead == "road_chief":
            lead, rule = territory.unit_id, FALLBACK_RULE
        else:
            lead, rule = territory.unit_id, "territorial"
        return Routing(
            lead_unit=lead,
            territorial_unit=territory.unit_id,
            grid_id=grid.grid_id if grid else f"{territory.unit_id}:unassigned",
            grid_chief=grid.chief if grid else None,
            community=grid.community if grid else None,
            guarantee_unit=grid.guarantee_unit if grid else None,
            road=road.name if road else None,
            road_chief=road.road_chief if road else None,
            rule=rule,
        )

    def _layers_at(self, at: BaseGeometry) -> tuple[Territory | None, Grid | None, list[int]]:
        """The territory and grid covering `at` (border rule applied) and the roads whose zone holds it."""
        territory: Territory | None = None
        grid: Grid | None = None
        near_roads: list[int] = []
        # For a point, "intersects" a polygon is "is covered by" it: the boundary counts. Ascending
        # indices visit territories, then grids, then roads, each layer in ascending id.
        hits: list[int] = self._tree.query(at, predicate="intersects").tolist()
        for i in sorted(hits):
            if i < self._grids_from:
                territory = territory or self.territories[i]
            elif i < self._roads_from:
                candidate = self.grids[i - self._grids_from]
                if grid is None and territory is not None and candidate.territorial_unit == territory.unit_id:
                    grid = candidate
            else:
                near_roads.append(i - self._roads_from)
        return territory, grid, near_roads

    def _nearest_road(self, point: Point, candidates: list[int]) -> Road | None:
        """Among candidate roads (ascending index = ascending name), the nearest whose buffer holds the point."""
        if not candidates:
            return None
        at = shapely.Point(*self.local.xy(point.lon, point.lat))
        best: tuple[float, int] | None = None
        for i in candidates:
            distance = self._road_lines[i].distance(at)
            if distance <= self.roads[i].buffer_m and (best is None or distance < best[0]):
                best = (distance, i)
        return self.roads[best[1]] if best else None
