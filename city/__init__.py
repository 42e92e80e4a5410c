"""Load a city data folder (units, categories, policy, territories, grids, roads) and validate it.

Another city is another folder with the same files; no code changes. Every error names the file and
the field that is wrong, because the people who maintain these files are not programmers.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from pydantic import ValidationError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from rectify.domain.calendar import WorkingCalendar
from rectify.domain.policy import DEFAULT_LADDER, Category, ExtensionLimits, Policy, Rung, StageLimits, Unit
from rectify.domain.router import Grid, Road, Router, Territory

DEFAULT_CITY_DIR = Path(__file__).parent / "jiangbei"
DATA_FILES = (
    "city.toml",
    "calendar.toml",
    "policy.toml",
    "units.toml",
    "categories.toml",
    "district.geojson",
    "territories.geojson",
    "grids.geojson",
    "roads.geojson",
)
#: Areas smaller than this (in square degrees, about 1 m²) count as touching, not overlapping.
_AREA_TOLERANCE = 1e-10


class CityDataError(ValueError):
    """A city data file is missing or wrong; the message names the file and the field."""

    def __init__(self, file: str, field: str | None, message: str) -> None:
        self.file, self.field = file, field
        super().__init__(f"{file}: {field + ': ' if field else ''}{message}")


@dataclass(frozen=True)
class City:
    policy: Policy
    router: Router
    source_dir: Path
    #: SHA-256 over the data files in a fixed order: which city data was in force.
    data_hash: str


class _Reader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def name(self, file: str) -> str:
        return f"{self.folder.name}/{file}"

    def read_bytes(self, file: str) -> bytes:
        try:
            return (self.folder / file).read_bytes()
        except FileNotFoundError:
            raise CityDataError(self.name(file), None, "file is missing") from None
        except OSError as error:
            raise CityDataError(self.name(file), None, f"cannot be read: {error.strerror}") from None

    def toml(self, file: str) -> dict[str, Any]:
        try:
            return tomllib.loads(self.read_bytes(file).decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise CityDataError(self.name(file), None, f"not valid TOML: {error}") from None

    def features(self, file: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.read_bytes(file).decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CityDataError(self.name(file), None, f"not valid GeoJSON: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise CityDataError(self.name(file), "features", "expected a GeoJSON FeatureCollection")
        return data["features"]

    def geometry(self, file: str, index: int, feature: dict[str, Any], kinds: tuple[str, ...]) -> BaseGeometry:
        where = f"features[{index}].geometry"
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as error:
            raise CityDataError(self.name(file), where, f"not a geometry: {error}") from None
        if geometry.geom_type not in kinds:
            raise CityDataError(self.name(file), where, f"expected {' or '.join(kinds)}, got {geometry.geom_type}")
        if not geometry.is_valid:
            raise CityDataError(self.name(file), where, f"invalid geometry: {shapely.is_valid_reason(geometry)}")
        return geometry

    @staticmethod
    def prop(file: str, index: int, feature: dict[str, Any], key: str, folder: str) -> Any:
        try:
            value = feature["properties"][key]
        except (KeyError, TypeError):
            raise CityDataError(f"{folder}/{file}", f"features[{index}].properties.{key}", "is missing") from None
        return value


def _validation(file: str, prefix: str, error: ValidationError) -> CityDataError:
    first = error.errors()[0]
    field = ".".join([prefix, *(str(p) for p in first["loc"])]).strip(".")
    return CityDataError(file, field, first["msg"])


def _load_policy(r: _Reader) -> Policy:
    city = r.toml("city.toml")
    units_raw = r.toml("units.toml").get("unit", [])
    categories_raw = r.toml("categories.toml").get("category", [])
    units: dict[str, Unit] = {}
    for i, raw in enumerate(units_raw):
        try:
            unit = Unit.model_validate(raw)
        except ValidationError as error:
            raise _validation(r.name("units.toml"), f"unit[{i}]", error) from None
        if unit.id in units:
            raise CityDataError(r.name("units.toml"), f"unit[{i}].id", f"duplicate unit id {unit.id!r}")
        units[unit.id] = unit
    categories: dict[str, Category] = {}
    for i, raw in enumerate(categories_raw):
        try:
            category = Category.model_validate(raw)
        except ValidationError as error:
            raise _validation(r.name("categories.toml"), f"category[{i}]", error) from None
        if category.lead_department not in units:
            raise CityDataError(
                r.name("categories.toml"),
                f"category[{i}].lead_department",
                f"unknown unit {category.lead_department!r}",
            )
        if category.code in categories:
            raise CityDataError(r.name("categories.toml"), f"category[{i}].code", f"duplicate {category.code!r}")
        categories[category.code] = category
    if not categories:
        raise CityDataError(r.name("categories.toml"), "category", "no categories defined")
    calendar = _load_calendar(r)
    rules = r.toml("policy.toml")

    def section(model: type, raw: object, prefix: str) -> object:
        try:
            return model.model_validate(raw)
        except ValidationError as error:
            raise _validation(r.name("policy.toml"), prefix, error) from None

    rungs = tuple(section(Rung, x, f"rung[{i}]") for i, x in enumerate(rules.get("rung", [])))
    timing = {
        "stages": section(StageLimits, rules.get("stages", {}), "stages"),
        "ladder": rungs or DEFAULT_LADDER,
        "extensions": section(ExtensionLimits, rules.get("extensions", {}), "extensions"),
    }
    fields = {
        k: city[k] for k in ("timezone", "dispatcher_units", "reopen_window_days", "description_max_chars") if k in city
    }
    try:
        policy = Policy(
            city=city.get("name", ""),
            version=str(city.get("version", "")),
            units=units,
            categories=categories,
            calendar=calendar,
            **timing,
            **fields,
        )
    except ValidationError as error:
        file = "policy.toml" if any(str(e["loc"][0]) == "ladder" for e in error.errors() if e["loc"]) else "city.toml"
        raise _validation(r.name(file), "", error) from None
    for unit_id in policy.dispatcher_units:
        if unit_id not in units:
            raise CityDataError(r.name("city.toml"), "dispatcher_units", f"unknown unit {unit_id!r}")
    return policy


def _load_calendar(r: _Reader) -> WorkingCalendar:
    """Working periods, holidays (as date ranges) and make-up working days from calendar.toml."""
    raw = r.toml("calendar.toml")
    file = r.name("calendar.toml")
    holidays: set[date] = set()
    for i, holiday in enumerate(raw.get("holiday", [])):
        if unknown := set(holiday) - {"name", "from", "to"}:
            raise CityDataError(
                file, f"holiday[{i}].{sorted(unknown)[0]}", "unknown field (a key after [[holiday]] belongs to it)"
            )
        start, end = holiday.get("from"), holiday.get("to")
        for key, value in (("from", start), ("to", end)):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise CityDataError(file, f"holiday[{i}].{key}", f"expected a date like 2026-10-01, got {value!r}")
        if end < start:
            raise CityDataError(file, f"holiday[{i}].to", f"ends ({end}) before it starts ({start})")
        holidays.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    makeup = raw.get("makeup_workdays", [])
    for i, day in enumerate(makeup):
        if not isinstance(day, date) or isinstance(day, datetime):
            raise CityDataError(file, f"makeup_workdays[{i}]", f"expected a date like 2026-10-10, got {day!r}")
    periods = [{"start": p.get("start"), "end": p.get("end")} for p in raw.get("period", [])]
    try:
        return WorkingCalendar.model_validate(
            {
                "timezone": raw.get("timezone", "Asia/Shanghai"),
                "known_years": raw.get("known_years", []),
                "holidays": holidays,
                "makeup_workdays": set(makeup),
                **({"periods": periods} if periods else {}),
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).replace("periods", "period")
        field = field or ("period" if "period" in first["msg"] else "holiday")
        raise CityDataError(file, field, first["msg"]) from None


def _check_tiling(r: _Reader, file: str, outline: BaseGeometry, parts: list[tuple[str, BaseGeometry]]) -> None:
    """The parts must cover the outline with no gaps and no overlaps."""
    tree = shapely.STRtree([g for _, g in parts])
    for i, (name, geometry) in enumerate(parts):
        for j in tree.query(geometry):
            if j > i and geometry.intersection(parts[j][1]).area > _AREA_TOLERANCE:
                raise CityDataError(r.name(file), f"features[{j}]", f"{parts[j][0]} overlaps {name}")
    covered = shapely.union_all([g for _, g in parts])
    gap = outline.difference(covered).area
    if gap > _AREA_TOLERANCE:
        raise CityDataError(r.name(file), "features", f"leaves a gap of {gap:.2e} square degrees uncovered")
    spill = covered.difference(outline).area
    if spill > _AREA_TOLERANCE:
        raise CityDataError(r.name(file), "features", "reaches outside the outline it should tile")


def load_city(folder: Path) -> City:
    folder = Path(folder)
    if not folder.is_dir():
        raise CityDataError(str(folder), None, "not a folder of city data")
    r = _Reader(folder)
    policy = _load_policy(r)
    units = policy.units
    district_features = r.features("district.geojson")
    if len(district_features) != 1:
        raise CityDataError(r.name("district.geojson"), "features", "expected exactly one district outline")
    district = r.geometry("district.geojson", 0, district_features[0], ("Polygon", "MultiPolygon"))

    territories: list[Territory] = []
    for i, f in enumerate(r.features("territories.geojson")):
        unit_id = r.prop("territories.geojson", i, f, "unit_id", folder.name)
        if unit_id not in units:
            raise CityDataError(
                r.name("territories.geojson"), f"features[{i}].properties.unit_id", f"unknown unit {unit_id!r}"
            )
        geometry = r.geometry("territories.geojson", i, f, ("Polygon", "MultiPolygon"))
        territories.append(Territory(unit_id, r.prop("territories.geojson", i, f, "name", folder.name), geometry))
    _check_tiling(r, "territories.geojson", district, [(t.unit_id, t.shape) for t in territories])

    grids: list[Grid] = []
    by_territory = {t.unit_id: t for t in territories}
    for i, f in enumerate(r.features("grids.geojson")):
        p = {
            k: r.prop("grids.geojson", i, f, k, folder.name)
            for k in ("grid_id", "territorial_unit", "community", "chief")
        }
        props = f["properties"]
        if p["territorial_unit"] not in by_territory:
            raise CityDataError(
                r.name("grids.geojson"),
                f"features[{i}].properties.territorial_unit",
                f"no territory {p['territorial_unit']!r}",
            )
        guarantee = props.get("guarantee_unit")
        if guarantee is not None and guarantee not in units:
            raise CityDataError(
                r.name("grids.geojson"), f"features[{i}].properties.guarantee_unit", f"unknown unit {guarantee!r}"
            )
        if any(g.grid_id == p["grid_id"] for g in grids):
            raise CityDataError(
                r.name("grids.geojson"), f"features[{i}].properties.grid_id", f"duplicate {p['grid_id']!r}"
            )
        geometry = r.geometry("grids.geojson", i, f, ("Polygon", "MultiPolygon"))
        grids.append(
            Grid(p["grid_id"], props.get("name", p["grid_id"]), p["territorial_unit"], p["community"], guarantee,
                 p["chief"], tuple(props.get("members", ())), geometry)
        )  # fmt: skip
    for territory in territories:
        parts = [(g.grid_id, g.shape) for g in grids if g.territorial_unit == territory.unit_id]
        if not parts:
            raise CityDataError(r.name("grids.geojson"), "features", f"no grid in territory {territory.unit_id}")
        _check_tiling(r, "grids.geojson", territory.shape, parts)

    roads: list[Road] = []
    for i, f in enumerate(r.features("roads.geojson")):
        chief = r.prop("roads.geojson", i, f, "road_chief", folder.name)
        if chief not in units:
            raise CityDataError(
                r.name("roads.geojson"), f"features[{i}].properties.road_chief", f"unknown unit {chief!r}"
            )
        buffer_m = f["properties"].get("buffer_m", 30)
        if not isinstance(buffer_m, int | float) or not 0 < buffer_m <= 500:
            raise CityDataError(
                r.name("roads.geojson"), f"features[{i}].properties.buffer_m", "must be 0 < metres <= 500"
            )
        geometry = r.geometry("roads.geojson", i, f, ("LineString", "MultiLineString"))
        roads.append(Road(r.prop("roads.geojson", i, f, "name", folder.name), chief, float(buffer_m), geometry))

    digest = hashlib.sha256()
    for file in DATA_FILES:
        digest.update(file.encode() + b"\0" + r.read_bytes(file) + b"\0")
    router = Router(policy, district, territories, grids, roads)
    return City(policy=policy, router=router, source_dir=folder.resolve(), data_hash=digest.hexdigest())
