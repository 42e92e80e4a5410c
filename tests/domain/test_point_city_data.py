"""Inspection points as city data: the sample city's points, and every fault named by file and field."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rectify.city import DEFAULT_CITY_DIR, CityDataError, load_city


@pytest.fixture
def city_copy(tmp_path: Path) -> Path:
    target = tmp_path / "testcity"
    shutil.copytree(DEFAULT_CITY_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), "utf-8")


def edit_point(folder: Path, index: int, change: Any) -> None:
    path = folder / "points.geojson"
    data = json.loads(path.read_text("utf-8"))
    change(data["features"][index])
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")


def test_the_sample_city_has_points_in_many_categories_over_every_street_and_town() -> None:
    city = load_city(DEFAULT_CITY_DIR)
    points = list(city.points.values())
    assert len(points) >= 40
    assert len({p.category for p in points}) >= 10
    territorial = {u.id for u in city.policy.units.values() if u.kind in ("street", "town")}
    assert {p.territorial_unit for p in points} == territorial  # spread over every street and town
    assert {p.leader for p in points} == set(city.policy.inspection.leaders)
    assert all(p.guarantee_units for p in points)
    assert any(p.outline for p in points) and any(not p.outline for p in points)  # areas and spots
    for point in points:  # each point lies where its territorial unit leads
        assert city.router.route("litter_junk", point.location).territorial_unit == point.territorial_unit
    items = [i for c in city.policy.inspection.point_categories.values() for i in c.items]
    assert {i.text for i in items} >= {"无占道经营", "垃圾桶完好无满溢", "公益广告不少于 3 处", "无乱停乱放"}
    assert Counter(i.case_category in city.policy.categories for i in items) == {True: len(items)}


def test_a_city_without_point_files_has_no_points(city_copy: Path) -> None:
    (city_copy / "points.geojson").unlink()
    (city_copy / "inspection.toml").unlink()
    city = load_city(city_copy)
    assert city.points == {} and city.policy.inspection.point_categories == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f["properties"].update(category="stadium"),
            r"points\.geojson: features\[3\]\.properties\.category: unknown point category 'stadium'",
        ),
        (
            lambda f: f["properties"].update(leader="ld_nobody"),
            r"points\.geojson: features\[3\]\.properties\.leader: unknown leader 'ld_nobody'",
        ),
        (
            lambda f: f["properties"].update(task_group="tg_none"),
            r"points\.geojson: features\[3\]\.properties\.task_group: unknown task group 'tg_none'",
        ),
        (
            lambda f: f["properties"].update(territorial_unit="dept_urban"),
            r"points\.geojson: features\[3\]\.properties\.territorial_unit: dept_urban is not a street or town",
        ),
        (
            lambda f: f["properties"].update(guarantee_units=["gu_fagai", "gu_nobody"]),
            r"points\.geojson: features\[3\]\.properties\.guarantee_units\[1\]: unknown unit 'gu_nobody'",
        ),
        (
            lambda f: f["properties"].update(point_id="p001"),
            r"points\.geojson: features\[3\]\.properties\.point_id: duplicate point id 'p001'",
        ),
        (
            lambda f: f["properties"].pop("name"),
            r"points\.geojson: features\[3\]\.properties\.name: is missing",
        ),
        (
            lambda f: f.update(geometry={"type": "Point", "coordinates": [120.0, 30.0]}),
            r"points\.geojson: features\[3\]\.geometry: point p004 lies outside the district",
        ),
        (
            lambda f: f.update(geometry={"type": "Point", "coordinates": [106.78, 29.61]}),  # in 复盛镇
            r"points\.geojson: features\[3\]\.geometry: point p004 lies outside its territory st_huaxinjie",
        ),
        (
            lambda f: f.update(geometry={"type": "LineString", "coordinates": [[106.5, 29.56], [106.51, 29.57]]}),
            r"points\.geojson: features\[3\]\.geometry: .*expected Point or Polygon, got LineString",
        ),
        (
            lambda f: f["properties"].update(point_id="P 4"),
            r"points\.geojson: features\[3\]\.properties\.point_id: String should match pattern",
        ),
    ],
)
def test_a_faulty_point_names_file_and_field(city_copy: Path, change: Any, message: str) -> None:
    edit_point(city_copy, 3, change)
    with pytest.raises(CityDataError, match=message):
        load_city(city_copy)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'case_category = "noise"',
            'case_category = "loud_music"',
            r"inspection\.toml: point_category\[10\]\.items\[1\]\.case_category: unknown case category 'loud_music'",
        ),
        ('code = "hospital"', 'code = "station"', r"inspection\.toml: point_category\[6\]\.code: duplicate code"),
        (
            'inspector_unit = "office_inspection"',
            'inspector_unit = "office_nowhere"',
            r"inspection\.toml: rounds\.inspector_unit: unknown unit 'office_nowhere'",
        ),
        ("ready_window_days = 5", "ready_window_days = 0", r"inspection\.toml: ready_window_days: .*greater than"),
        ('name = "赵敏"', 'name = ""', r"inspection\.toml: leader\[3\]\.name: String should have at least 1"),
        (
            'items = [\n  { code = "clean"',
            'items = [\n  { code = "facilities_ok", text = "x", case_category = "noise" },\n  { code = "clean"',
            r"inspection\.toml: point_category\[7\]: .*checklist item codes repeat",
        ),
    ],
)
def test_a_faulty_checklist_or_rule_names_file_and_field(city_copy: Path, old: str, new: str, message: str) -> None:
    edit(city_copy / "inspection.toml", old, new)
    with pytest.raises(CityDataError, match=message):
        load_city(city_copy)
