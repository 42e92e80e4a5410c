"""Inspection points from a city folder: inspection.toml (checklists, leaders, task groups, rounds) and
points.geojson (the points). Both are optional: a city without them has no points. Every fault names its file and
field, like the rest of the city."""

from __future__ import annotations

from typing import Any

import shapely
from pydantic import ValidationError
from shapely.geometry.base import BaseGeometry

from rectify.city.errors import validation_error
from rectify.city.reader import Reader
from rectify.domain.inspection import InspectionPoint, InspectionRules, Leader, PointCategory, RoundRules, TaskGroup
from rectify.domain.policy import Category, Unit, UnitKind
from rectify.domain.router import Territory
from rectify.domain.types import Point

INSPECTION_FILE = "inspection.toml"
POINTS_FILE = "points.geojson"


def load_inspection(r: Reader, units: dict[str, Unit], categories: dict[str, Category]) -> InspectionRules:
    """The checklists and the people and rules of rounds; each checklist item opens a case category the city has."""
    if not r.exists(INSPECTION_FILE):
        return InspectionRules()
    raw = r.toml(INSPECTION_FILE)
    file = r.name(INSPECTION_FILE)

    def parse(model: type, value: object, prefix: str) -> Any:
        try:
            return model.model_validate(value)
        except ValidationError as error:
            raise validation_error(file, prefix, error) from None

    def keyed(model: type, table: str, key: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for i, value in enumerate(raw.get(table, [])):
            item = parse(model, value, f"{table}[{i}]")
            if getattr(item, key) in found:
                raise r.error(INSPECTION_FILE, f"{table}[{i}].{key}", f"duplicate {key} {getattr(item, key)!r}")
            found[getattr(item, key)] = item
        return found

    point_categories: dict[str, PointCategory] = keyed(PointCategory, "point_category", "code")
    for i, point_category in enumerate(point_categories.values()):
        for j, item in enumerate(point_category.items):
            if item.case_category not in categories:
                raise r.error(
                    INSPECTION_FILE,
                    f"point_category[{i}].items[{j}].case_category",
                    f"unknown case category {item.case_category!r} (not in categories.toml)",
                )
    rounds: RoundRules = parse(RoundRules, raw.get("rounds", {}), "rounds")
    if point_categories and rounds.inspector_unit not in units:
        raise r.error(INSPECTION_FILE, "rounds.inspector_unit", f"unknown unit {rounds.inspector_unit!r}")
    window = {"ready_window_days": raw["ready_window_days"]} if "ready_window_days" in raw else {}
    return parse(
        InspectionRules,
        {
            "point_categories": point_categories,
            "leaders": keyed(Leader, "leader", "id"),
            "task_groups": keyed(TaskGroup, "task_group", "id"),
            "rounds": rounds,
            **window,
        },
        "",
    )


def load_points(
    r: Reader, rules: InspectionRules, units: dict[str, Unit], territories: list[Territory], district: BaseGeometry
) -> dict[str, InspectionPoint]:
    """Each point: its id once, a known point category, leader, task group and units, and a place (a point or a
    polygon) inside the territory of its territorial unit."""
    if not r.exists(POINTS_FILE):
        return {}
    shapes = {t.unit_id: t.shape for t in territories}
    points: dict[str, InspectionPoint] = {}
    for i, feature in enumerate(r.features(POINTS_FILE)):
        point = _point(r, i, feature, rules, units, shapes, district)
        if point.point_id in points:
            raise r.error(POINTS_FILE, _field(i, "point_id"), f"duplicate point id {point.point_id!r}")
        points[point.point_id] = point
    return points


def _field(i: int, key: str) -> str:
    return f"features[{i}].properties.{key}"


def _known(r: Reader, i: int, feature: dict[str, Any], key: str, table: dict[str, Any], what: str) -> str:
    value = r.text(POINTS_FILE, i, feature, key)
    if value not in table:
        raise r.error(POINTS_FILE, _field(i, key), f"unknown {what} {value!r} (not in {INSPECTION_FILE})")
    return value


def _point(
    r: Reader,
    i: int,
    feature: dict[str, Any],
    rules: InspectionRules,
    units: dict[str, Unit],
    shapes: dict[str, BaseGeometry],
    district: BaseGeometry,
) -> InspectionPoint:
    point_id = r.text(POINTS_FILE, i, feature, "point_id")
    category = _known(r, i, feature, "category", rules.point_categories, "point category")
    leader = _known(r, i, feature, "leader", rules.leaders, "leader")
    task_group = _known(r, i, feature, "task_group", rules.task_groups, "task group")
    territorial = r.unit(POINTS_FILE, i, feature, "territorial_unit", units)
    if units[territorial].kind not in (UnitKind.STREET, UnitKind.TOWN):
        raise r.error(POINTS_FILE, _field(i, "territorial_unit"), f"{territorial} is not a street or town")
    guarantee = feature["properties"].get("guarantee_units", [])
    if not isinstance(guarantee, list) or not all(isinstance(g, str) for g in guarantee):
        raise r.error(POINTS_FILE, _field(i, "guarantee_units"), "must be a list of unit ids")
    for j, unit_id in enumerate(guarantee):
        if unit_id not in units:
            raise r.error(POINTS_FILE, f"{_field(i, 'guarantee_units')}[{j}]", f"unknown unit {unit_id!r}")
    place = r.geometry(POINTS_FILE, i, feature, ("Point", "Polygon"))
    if not place.within(district):
        raise r.error(POINTS_FILE, f"features[{i}].geometry", f"point {point_id} lies outside the district")
    centre = shapely.get_coordinates(place if place.geom_type == "Point" else place.representative_point())[0]
    if territorial in shapes and not shapes[territorial].covers(shapely.Point(centre)):
        raise r.error(
            POINTS_FILE, f"features[{i}].geometry", f"point {point_id} lies outside its territory {territorial}"
        )
    outline = [] if place.geom_type == "Point" else shapely.get_coordinates(shapely.get_exterior_ring(place)).tolist()
    try:
        return InspectionPoint(
            point_id=point_id,
            name=r.text(POINTS_FILE, i, feature, "name"),
            category=category,
            location=Point(lon=float(centre[0]), lat=float(centre[1])),
            outline=tuple(Point(lon=x, lat=y) for x, y in outline),
            leader=leader,
            task_group=task_group,
            territorial_unit=territorial,
            guarantee_units=tuple(guarantee),
        )
    except ValidationError as error:
        raise validation_error(r.name(POINTS_FILE), f"features[{i}].properties", error) from None
