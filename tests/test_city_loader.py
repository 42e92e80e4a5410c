"""City data is validated on load; every error names the file and the field."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rectify.city import DEFAULT_CITY_DIR, CityDataError, load_city


@pytest.fixture
def city_copy(tmp_path: Path) -> Path:
    target = tmp_path / "testcity"
    shutil.copytree(DEFAULT_CITY_DIR, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), "utf-8")


def test_the_sample_city_loads_with_what_the_campaign_needs() -> None:
    city = load_city(DEFAULT_CITY_DIR)
    kinds = [u.kind for u in city.policy.units.values()]
    assert kinds.count("street") == 9 and kinds.count("town") == 3
    assert kinds.count("department") >= 12
    assert len(city.router.grids) >= 36 and len(city.router.roads) >= 20
    assert len(city.policy.categories) >= 15
    assert all(g.chief and len(g.members) == 2 for g in city.router.grids)  # 一长两员
    assert re.fullmatch(r"[0-9a-f]{64}", city.data_hash)


def test_another_folder_is_another_city_with_its_own_hash(city_copy: Path) -> None:
    edit(city_copy / "city.toml", 'name = "重庆市江北区"', 'name = "测试区"')
    city = load_city(city_copy)
    assert city.policy.city == "测试区"
    assert city.data_hash != load_city(DEFAULT_CITY_DIR).data_hash


def test_an_unknown_lead_department_names_file_and_field(city_copy: Path) -> None:
    edit(city_copy / "categories.toml", 'lead_department = "dept_market"', 'lead_department = "dept_nowhere"')
    with pytest.raises(CityDataError, match=r"categories\.toml: category\[8\]\.lead_department: unknown unit"):
        load_city(city_copy)


def test_a_negative_limit_names_file_and_field(city_copy: Path) -> None:
    edit(city_copy / "categories.toml", "rectify_limit_hours = 49", "rectify_limit_hours = -3")
    with pytest.raises(CityDataError, match=r"categories\.toml: category\[3\]\.rectify_limit_hours"):
        load_city(city_copy)


def test_malformed_toml_names_the_file(city_copy: Path) -> None:
    (city_copy / "units.toml").write_text('[[unit]]\nid = "st_x\n', "utf-8")
    with pytest.raises(CityDataError, match=r"testcity/units\.toml: not valid TOML"):
        load_city(city_copy)


def _territories(city_copy: Path) -> tuple[Path, dict]:
    path = city_copy / "territories.geojson"
    return path, json.loads(path.read_text("utf-8"))


def test_overlapping_territories_are_refused(city_copy: Path) -> None:
    path, data = _territories(city_copy)
    ring = data["features"][0]["geometry"]["coordinates"][0]
    for corner in ring:  # push the first territory's east edge into its neighbour
        if corner[0] == 106.545:
            corner[0] = 106.56
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with pytest.raises(CityDataError, match=r"territories\.geojson: features\[\d+\]: .* overlaps"):
        load_city(city_copy)


def test_a_gap_between_territories_is_refused(city_copy: Path) -> None:
    path, data = _territories(city_copy)
    ring = data["features"][0]["geometry"]["coordinates"][0]
    for corner in ring:  # pull the first territory's east edge back, leaving a strip uncovered
        if corner[0] == 106.545:
            corner[0] = 106.53
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with pytest.raises(CityDataError, match=r"territories\.geojson: features: leaves a gap"):
        load_city(city_copy)


def test_a_road_chief_that_is_not_a_unit_is_refused(city_copy: Path) -> None:
    edit(city_copy / "roads.geojson", '"road_chief": "dept_transport"', '"road_chief": "nobody"')
    with pytest.raises(CityDataError, match=r"roads\.geojson: features\[\d+\]\.properties\.road_chief: unknown unit"):
        load_city(city_copy)


def test_a_missing_file_is_named(city_copy: Path) -> None:
    (city_copy / "grids.geojson").unlink()
    with pytest.raises(CityDataError, match=r"testcity/grids\.geojson: file is missing"):
        load_city(city_copy)
