"""Load a city data folder (units, categories, policy, calendar, territories, grids, roads) and validate it.

Another city is another folder with the same files; no code changes. Every error names the file and
the field that is wrong, because the people who maintain these files are not programmers.

Files (all UTF-8):
- ``city.toml``: name, version, timezone, dispatcher_units, reopen_window_days, description_max_chars.
- ``policy.toml``: [stages] limits, the [[rung]] ladder, [extensions] caps, [text] lengths of reasons and notes.
- ``calendar.toml``: working [[period]]s, [[holiday]] date ranges, makeup_workdays, known_years.
- ``units.toml``: [[unit]] id, name, kind (street/town/department/guarantee/office), responsible_role.
- ``categories.toml``: [[category]] code, name, lead_department, lead, rectify_limit_hours, limit_kind,
  duplicate_radius_m.
- ``district.geojson``: one (Multi)Polygon, the district outline.
- ``territories.geojson``: a (Multi)Polygon per street/town, properties unit_id, name; they tile the district.
- ``grids.geojson``: (Multi)Polygons with grid_id, name, territorial_unit, community, guarantee_unit (包保),
  chief and members (一长两员); the grids of each territory tile it.
- ``roads.geojson``: (Multi)LineStrings with name, road_chief (a unit), buffer_m; inside the district.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from pydantic import ValidationError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from rectify.domain.calendar import WorkingCalendar
from rectify.domain.policy import (
    DEFAULT_LADDER,
    AccountabilityRules,
    Category,
    ExtensionLimits,
    Policy,
    Rung,
    Scoring,
    StageLimits,
    TextLimits,
    Unit,
    UnitKind,
)
from rectify.domain.router import Grid, LocalMetres, Road, Router, Territory

DEFAULT_CITY_DIR = Path(__file__).parent / "jiangbei"
#: The files a city folder consists of, in sorted order: `data_hash` covers exactly these.
DATA_FILES = (
    "calendar.toml",
    "categories.toml",
    "city.toml",
    "district.geojson",
    "grids.geojson",
    "policy.toml",
    "roads.geojson",
    "territories.geojson",
    "units.toml",
)
#: Overlaps, gaps and spills smaller than this many square metres are drawing noise, not errors.
AREA_TOLERANCE_M2 = 1.0
#: A road may stick out of the district by this many metres (a bridgehead) before it is an error.
ROAD_OUTSIDE_TOLERANCE_M = 1.0
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_TERRITORIAL_KINDS = (UnitKind.STREET, UnitKind.TOWN)


class CityDataError(ValueError):
    """A city data file is missing or wrong; the message names the file, the field and the fault.

    `file` is the path as shown (relative to the package, e.g. ``city/jiangbei/categories.toml``, or
    to the working directory, else absolute); `field` is the path inside the file in the file's own
    spelling (``category[3].lead_department``, ``features[2].properties.unit_id``), or None.
    """

    def __init__(self, file: str, field: str | None, message: str) -> None:
        self.file, self.field, self.problem = file, field, message
        super().__init__(f"{file}: {field + ': ' if field else ''}{message}")


@dataclass(frozen=True)
class City:
    """A loaded city: its policy, its router, where it came from and which bytes it was."""

    policy: Policy
    router: Router
    source_dir: Path
    #: `data_hash_of` the bytes the loader read (the DATA_FILES): which city data was in force.
    data_hash: str


def data_hash_of(files: dict[str, bytes]) -> str:
    """SHA-256 over the data files in sorted name order, each framed as ``name NUL length NUL bytes``.

    The framing makes moving bytes from one file to the next change the hash. To recompute by hand:
    for each name in DATA_FILES, feed ``f"{name}\\0{len(data)}\\0".encode() + data``.
    """
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def _shown(folder: Path) -> str:
    resolved = folder.resolve()
    for base in (_PACKAGE_ROOT, Path.cwd()):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return resolved.as_posix()


class _Reader:
    """Reads each file once (the bytes parsed are the bytes hashed) and names it in errors."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shown = _shown(folder)
        self.read: dict[str, bytes] = {}

    def name(self, file: str) -> str:
        return f"{self.shown}/{file}"

    def error(self, file: str, field: str | None, message: str) -> CityDataError:
        return CityDataError(self.name(file), field, message)

    def read_bytes(self, file: str) -> bytes:
        if file not in self.read:
            try:
                self.read[file] = (self.folder / file).read_bytes()
            except FileNotFoundError:
                raise self.error(file, None, "file is missing") from None
            except OSError as error:
                raise self.error(file, None, f"cannot be read: {error.strerror}") from None
        return self.read[file]

    def toml(self, file: str) -> dict[str, Any]:
        try:
            return tomllib.loads(self.read_bytes(file).decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise self.error(file, None, f"not valid TOML: {error}") from None

    def features(self, file: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.read_bytes(file).decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise self.error(file, None, f"not valid GeoJSON: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise self.error(file, "features", "expected a GeoJSON FeatureCollection")
        for i, feature in enumerate(data["features"]):
            if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
                raise self.error(file, f"features[{i}].properties", "expected a Feature with properties")
        return data["features"]

    def geometry(self, file: str, i: int, feature: dict[str, Any], kinds: tuple[str, ...]) -> BaseGeometry:
        where, label = f"features[{i}].geometry", _label(feature)
        try:
            geometry = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, shapely.errors.GEOSException) as error:
            raise self.error(file, where, f"{label}: not a geometry: {error}") from None
        if geometry.geom_type not in kinds:
            raise self.error(file, where, f"{label}: expected {' or '.join(kinds)}, got {geometry.geom_type}")
        if geometry.is_empty or not geometry.is_valid:
            reason = "empty" if geometry.is_empty else shapely.is_valid_reason(geometry)
            raise self.error(file, where, f"{label}: invalid geometry: {reason}")
        return geometry

    def text(self, file: str, i: int, feature: dict[str, Any], key: str, *, required: bool = True) -> str | None:
        value = feature["properties"].get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            problem = "is missing" if value is None else f"must be a non-empty string, got {value!r}"
            raise self.error(file, f"features[{i}].properties.{key}", problem)
        return value

    def unit(self, file: str, i: int, feature: dict[str, Any], key: str, units: dict[str, Unit], **kw: bool) -> Any:
        value = self.text(file, i, feature, key, **kw)
        if value is not None and value not in units:
            raise self.error(file, f"features[{i}].properties.{key}", f"unknown unit {value!r} (not in units.toml)")
        return value


def _label(feature: dict[str, Any]) -> str:
    """How a feature is called in messages: its id and name, whichever it has."""
    props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
    parts = [str(props[k]) for k in ("unit_id", "grid_id", "name") if props.get(k)]
    return " ".join(parts) or "unnamed feature"


def _validation(file: str, prefix: str, error: ValidationError) -> CityDataError:
    first = error.errors()[0]
    field = ".".join([prefix, *(str(p) for p in first["loc"])]).strip(".")
    got = first.get("input")
    detail = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
    return CityDataError(file, field or None, first["msg"] + detail)


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
            raise r.error("units.toml", f"unit[{i}].id", f"duplicate unit id {unit.id!r}")
        units[unit.id] = unit
    categories: dict[str, Category] = {}
    for i, raw in enumerate(categories_raw):
        try:
            category = Category.model_validate(raw)
        except ValidationError as error:
            raise _validation(r.name("categories.toml"), f"category[{i}]", error) from None
        if category.lead_department not in units:
            raise r.error(
                "categories.toml",
                f"category[{i}].lead_department",
                f"unknown unit {category.lead_department!r} (not in units.toml)",
            )
        if category.code in categories:
            raise r.error("categories.toml", f"category[{i}].code", f"duplicate category code {category.code!r}")
        categories[category.code] = category
    if not categories:
        raise r.error("categories.toml", "category", "no categories defined")
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
        "scoring": section(Scoring, rules.get("scoring", {}), "scoring"),
        "accountability": section(AccountabilityRules, rules.get("accountability", {}), "accountability"),
        "text": section(TextLimits, rules.get("text", {}), "text"),
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
        ladder = any(e["loc"] and str(e["loc"][0]) == "ladder" for e in error.errors())
        raise _validation(r.name("policy.toml" if ladder else "city.toml"), "", error) from None
    for i, unit_id in enumerate(policy.dispatcher_units):
        if unit_id not in units:
            raise r.error("city.toml", f"dispatcher_units[{i}]", f"unknown unit {unit_id!r} (not in units.toml)")
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


def _check_tiling(
    r: _Reader,
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


def _load_territories(r: _Reader, policy: Policy, local: LocalMetres, district: BaseGeometry) -> list[Territory]:
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
    _check_tiling(r, file, local, "the district (district.geojson)", district, parts)
    return territories


def _load_grids(r: _Reader, policy: Policy, local: LocalMetres, territories: list[Territory]) -> list[Grid]:
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
        _check_tiling(r, file, local, outline_name, territory.shape, parts[territory.unit_id])
    return grids


def _load_roads(r: _Reader, policy: Policy, local: LocalMetres, district: BaseGeometry) -> list[Road]:
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


def load_city(path: Path) -> City:
    """Read and cross-check a city folder; raise CityDataError naming the file and field at the first fault."""
    folder = Path(path)
    if not folder.is_dir():
        raise CityDataError(str(folder), None, "not a folder of city data")
    r = _Reader(folder)
    policy = _load_policy(r)
    district_features = r.features("district.geojson")
    if len(district_features) != 1:
        raise r.error("district.geojson", "features", f"expected one district outline, got {len(district_features)}")
    district = r.geometry("district.geojson", 0, district_features[0], ("Polygon", "MultiPolygon"))
    centre = district.centroid
    local = LocalMetres(centre.x, centre.y)
    territories = _load_territories(r, policy, local, district)
    grids = _load_grids(r, policy, local, territories)
    roads = _load_roads(r, policy, local, district)
    router = Router(policy, district, territories, grids, roads)
    return City(policy=policy, router=router, source_dir=folder.resolve(), data_hash=data_hash_of(r.read))
