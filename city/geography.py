"""The map from a city folder: the district, its territories and grids (each tiling the one above), and roads."""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry.base import BaseGeometry

from rectify.city.reader import Reader
from rectify.domain.policy import Policy, UnitKind
from rectify.domain.router import Grid, LocalMetres, Road, Territory

#: Overlaps, gaps and spills smaller than this many square metres are drawing noise, not errors.
AREA_TOLERANCE_M2 = 1.0
#: A road may stick out of the district by this many metres (a bridgehead) before it is an error.
ROAD_OUTSIDE_TOLERANCE_M = 1.0
_TERRITORIAL_KINDS = (UnitKind.STREET, UnitKind.TOWN)


def check_tiling(
    r: Reader,
    file: str,
    local: LocalMetres,
    outline_name: str,
    outline: BaseGeometry,
    parts: Sequence[tuple[int, str, BaseGeometry]],
) -> None:
    """The parts (feature index, label, shape) must cover the outline with no gaps and no overlaps."""

    def m2(area: float) -> float:
        return local.square_metres(area)

    tree = shapely.STRtree([g for _, _, g in parts])
    for k, (i, label, geometry) in enumerate(parts):
        outside = m2(geometry.difference(outline).area)
        if outside > AREA_TOLERANCE_M2:
            raise r.error(file, f"features[{i}].geometry", f"{label} reaches {outside:,.0f} m² outside {outline_name}")
        for n in sorted(int(x) for x in tree.query(geometry)):
            if n <= k:
                continue
            j, other, shape_j = parts[n]
            overlap = m2(geometry.intersection(shape_j).area)
            if overlap > AREA_TOLERANCE_M2:
                raise r.error(file, f"features[{j}].geometry", f"{other} overlaps {label} by {overlap:,.0f} m²")
    gap = outline.difference(shapely.union_all([g for _, _, g in parts]))
    if m2(gap.area) > AREA_TOLERANCE_M2:
        near = gap.representative_point()
        raise r.error(
            file,
            "features",
            f"leave a gap of {m2(gap.area):,.0f} m² in {outline_name} near (lon {near.x:.5f}, lat {near.y:.5f})",
        )


def load_territories(r: Reader, policy: Policy, local: LocalMetres, district: BaseGeometry) -> list[Territory]:
    file = "territories.geojson"
    territories: list[Territory] = []
    parts: list[tuple[int, str, BaseGeometry]] = []
    seen: set[str] = set()
    for i, f in enumerate(r.features(file)):
        unit_id = r.unit(file, i, f, "unit_id", policy.units)
        if policy.units[unit_id].kind not in _TERRITORIAL_KINDS:
            kind = policy.units[unit_id].kind
            raise r.error(file, f"features[{i}].properties.unit_id", f"{unit_id} is a {kind}, not a street or town")
        if unit_id in seen:
            raise r.error(file, f"features[{i}].properties.unit_id", f"second territory for {unit_id}")
        seen.add(unit_id)
        geometry = r.geometry(file, i, f, ("Polygon", "MultiPolygon"))
        territories.append(Territory(unit_id, r.text(file, i, f, "name"), geometry))
        parts.append((i, f"territory {unit_id}", geometry))
    if missing := sorted(u.id for u in policy.units.values() if u.kind in _TERRITORIAL_KINDS and u.id not in seen):
        raise r.error(file, "features", f"no territory for {', '.join(missing)} (streets and towns in units.toml)")
    check_tiling(r, file, local, "the district (district.geojson)", district, parts)
    return territories


def load_grids(r: Reader, policy: Policy, local: LocalMetres, territories: list[Territory]) -> list[Grid]:
    file = "grids.geojson"
    by_unit = {t.unit_id: t for t in territories}
    grids: list[Grid] = []
    parts: dict[str, list[tuple[int, str, BaseGeometry]]] = {t.unit_id: [] for t in territories}
    adopted: dict[str, tuple[str | None, int]] = {}  # community -> (guarantee unit, first feature)
    for i, f in enumerate(r.features(file)):
        grid_id = r.text(file, i, f, "grid_id")
        if any(g.grid_id == grid_id for g in grids):
            raise r.error(file, f"features[{i}].properties.grid_id", f"duplicate grid id {grid_id!r}")
        unit_id = r.text(file, i, f, "territorial_unit")
        if unit_id not in by_unit:
            raise r.error(file, f"features[{i}].properties.territorial_unit", f"no territory {unit_id!r}")
        community = r.text(file, i, f, "community")
        guarantee = r.unit(file, i, f, "guarantee_unit", policy.units, required=False)
        first_guarantee, first = adopted.setdefault(community, (guarantee, i))
        if guarantee != first_guarantee:
            raise r.error(
                file,
                f"features[{i}].properties.guarantee_unit",
                f"community {community} is adopted by {first_guarantee} in features[{first}], not {guarantee}",
            )
        members = f["properties"].get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) and m.strip() for m in members):
            raise r.error(file, f"features[{i}].properties.members", "must be a list of names")
        geometry = r.geometry(file, i, f, ("Polygon", "MultiPolygon"))
        outside = local.square_metres(geometry.difference(by_unit[unit_id].shape).area)
        if outside > AREA_TOLERANCE_M2:  # every grid lies in exactly one territory: the one it names
            lies_in = [
                t.unit_id
                for t in territories
                if local.square_metres(geometry.intersection(t.shape).area) > AREA_TOLERANCE_M2
            ]
            raise r.error(
                file,
                f"features[{i}].properties.territorial_unit",
                f"grid {grid_id} names {unit_id} but {outside:,.0f} m² of it lie outside it (it lies in "
                f"{', '.join(lies_in) or 'no territory'})",
            )
        name = r.text(file, i, f, "name", required=False) or grid_id
        chief = r.text(file, i, f, "chief")
        grids.append(Grid(grid_id, name, unit_id, community, guarantee, chief, tuple(members), geometry))
        parts[unit_id].append((i, f"grid {grid_id} (territorial_unit {unit_id})", geometry))
    for territory in territories:
        if not parts[territory.unit_id]:
            raise r.error(file, "features", f"no grid in territory {territory.unit_id}")
        outline_name = f"territory {territory.unit_id} {territory.name}"
        check_tiling(r, file, local, outline_name, territory.shape, parts[territory.unit_id])
    return grids


def load_roads(r: Reader, policy: Policy, local: LocalMetres, district: BaseGeometry) -> list[Road]:
    file = "roads.geojson"
    roads: list[Road] = []
    for i, f in enumerate(r.features(file)):
        name = r.text(file, i, f, "name")
        if any(road.name == name for road in roads):
            raise r.error(file, f"features[{i}].properties.name", f"duplicate road name {name!r}")
        chief = r.unit(file, i, f, "road_chief", policy.units)
        buffer_m = f["properties"].get("buffer_m", 30)
        if isinstance(buffer_m, bool) or not isinstance(buffer_m, int | float) or not 0 < buffer_m <= 500:
            raise r.error(file, f"features[{i}].properties.buffer_m", f"must be 0 < metres <= 500, got {buffer_m!r}")
        geometry = r.geometry(file, i, f, ("LineString", "MultiLineString"))
        outside = local.project(geometry.difference(district)).length
        if outside > ROAD_OUTSIDE_TOLERANCE_M:
            raise r.error(file, f"features[{i}].geometry", f"road {name} runs {outside:,.0f} m outside the district")
        roads.append(Road(name, chief, float(buffer_m), geometry))
    return roads
