"""The responsibility router: (category, point) -> who is responsible, and which rule decided it.

属地镇街主抓、职能部门主管、包保部门同责联创, plus 路长制 and 网格化管理: every answer names the
territorial unit, the grid (and its chief), the community's guarantee unit, and the road chief when
the point lies on a road. The lead unit depends on the category's `lead` rule.

Pure computation over already-parsed geometry (shapely), so it is deterministic: a point on the
border between two polygons resolves to the one with the lowest id among those that cover it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from rectify.domain.errors import OutsideDistrict, UnknownCategory
from rectify.domain.policy import Policy
from rectify.domain.types import Point, Routing

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True)
class Territory:
    unit_id: str
    name: str
    shape: BaseGeometry


@dataclass(frozen=True)
class Grid:
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
    name: str
    road_chief: str
    buffer_m: float
    shape: BaseGeometry


class LocalMetres:
    """An equirectangular projection around the district centre: metres are exact enough at city scale."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * _M_PER_DEG_LAT

    def project(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(
            geometry, lambda c: (c - [self.lon0, self.lat0]) * [self.kx, _M_PER_DEG_LAT]
        )  # fmt: skip


def metres_between(a: Point, b: Point) -> float:
    """Distance in metres between two nearby points (duplicate radius, road buffers)."""
    local = LocalMetres((a.lon + b.lon) / 2, (a.lat + b.lat) / 2)
    (x1, y1), (x2, y2) = local.xy(a.lon, a.lat), local.xy(b.lon, b.lat)
    return math.hypot(x2 - x1, y2 - y1)


class Router:
    def __init__(
        self,
        policy: Policy,
        district: BaseGeometry,
        territories: list[Territory],
        grids: list[Grid],
        roads: list[Road],
    ) -> None:
        self.policy = policy
        self.district = district
        shapely.prepare(district)
        self.territories = sorted(territories, key=lambda t: t.unit_id)
        self.grids = sorted(grids, key=lambda g: g.grid_id)
        self.roads = sorted(roads, key=lambda r: r.name)
        self._territory_tree = STRtree([t.shape for t in self.territories])
        self._grid_tree = STRtree([g.shape for g in self.grids])
        centre = district.centroid
        self.local = LocalMetres(centre.x, centre.y)
        self._road_shapes = [self.local.project(r.shape) for r in self.roads]
        self._road_tree = STRtree(self._road_shapes)
        self._widest_road = max((r.buffer_m for r in self.roads), default=0.0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return tuple(self.district.bounds)

    def route(self, category: str, point: Point) -> Routing:
        if category not in self.policy.categories:
            raise UnknownCategory(f"unknown category {category!r}; known: {', '.join(sorted(self.policy.categories))}")
        at = shapely.Point(point.lon, point.lat)
        if not self.district.covers(at):
            raise OutsideDistrict(f"point ({point.lon}, {point.lat}) is outside {self.policy.city}")
        territory = self._covering(self._territory_tree, self.territories, at)
        if territory is None:  # district and territories disagree: the loader forbids it, but say so clearly
            raise OutsideDistrict(f"point ({point.lon}, {point.lat}) is in no territorial unit")
        grid_candidates = [
            self.grids[i]
            for i in self._grid_tree.query(at, predicate="intersects")
            if self.grids[i].territorial_unit == territory.unit_id
        ]
        grid = min(grid_candidates, key=lambda g: g.grid_id) if grid_candidates else None
        road = self._road_at(point)
        rule_spec = self.policy.categories[category]
        if rule_spec.lead == "department":
            lead, rule = rule_spec.lead_department, "department"
        elif rule_spec.lead == "road_chief" and road is not None:
            lead, rule = road.road_chief, "road_chief"
        elif rule_spec.lead == "road_chief":
            lead, rule = territory.unit_id, "territorial_fallback"
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

    @staticmethod
    def _covering(tree: STRtree, items: list, at: BaseGeometry):
        hits = sorted(int(i) for i in tree.query(at, predicate="intersects"))
        return items[hits[0]] if hits else None

    def _road_at(self, point: Point) -> Road | None:
        """The nearest road whose buffer contains the point (ties: the road named first)."""
        if not self.roads:
            return None
        x, y = self.local.xy(point.lon, point.lat)
        at = shapely.Point(x, y)
        best: tuple[float, str, Road] | None = None
        for i in self._road_tree.query(at.buffer(self._widest_road)):
            road = self.roads[int(i)]
            distance = self._road_shapes[int(i)].distance(at)
            if distance <= road.buffer_m and (best is None or (distance, road.name) < best[:2]):
                best = (distance, road.name, road)
        return best[2] if best else None
