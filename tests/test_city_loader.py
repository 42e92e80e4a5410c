"""City data is validated on load; every error names the file and the field."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from rectify.city import DATA_FILES, DEFAULT_CITY_DIR, CityDataError, data_hash_of, load_city


@pytest.fixture
def city_copy(tmp_path: Path) -> Path:
    target = tmp_path / "testcity"
    shutil.copytree(DEFAULT_CITY_DIR, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), "utf-8")


def edit_geojson(path: Path, change: Any) -> None:
    data = json.loads(path.read_text("utf-8"))
    change(data["features"])
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")


def move_edge(path: Path, feature: int, old_lon: float, new_lon: float) -> None:
    """Move a feature's corners on the meridian `old_lon` to `new_lon` (the sample is made of rectangles)."""

    def change(features: list[dict]) -> None:
        for corner in features[feature]["geometry"]["coordinates"][0]:
            if corner[0] == old_lon:
                corner[0] = new_lon

    edit_geojson(path, change)


def test_the_sample_city_loads_with_what_the_campaign_needs() -> None:
    city = load_city(DEFAULT_CITY_DIR)
    kinds = [u.kind for u in city.policy.units.values()]
    assert kinds.count("street") == 9 and kinds.count("town") == 3
    assert kinds.count("department") >= 12 and kinds.count("guarantee") >= 1
    assert city.policy.dispatcher_units == ("office_chuangwen", "office_command")
    assert len(city.router.territories) == 12
    assert len(city.router.grids) >= 36 and len(city.router.roads) >= 20
    assert len(city.policy.categories) >= 15
    assert all(g.chief and len(g.members) == 2 for g in city.router.grids)  # 一长两员
    assert all(g.community and g.guarantee_unit for g in city.router.grids)  # 包保
    assert city.policy.categories["street_vending"].rectify_limit_hours == 2


def test_the_data_hash_covers_every_data_file_in_sorted_order() -> None:
    city = load_city(DEFAULT_CITY_DIR)
    assert list(DATA_FILES) == sorted(DATA_FILES)
    files = {name: (DEFAULT_CITY_DIR / name).read_bytes() for name in DATA_FILES}
    assert re.fullmatch(r"[0-9a-f]{64}", city.data_hash)
    assert city.data_hash == data_hash_of(files)


def test_moving_bytes_between_files_changes_the_hash() -> None:
    assert data_hash_of({"a.toml": b"xy", "b.toml": b"z"}) != data_hash_of({"a.toml": b"x", "b.toml": b"yz"})


def test_another_folder_is_another_city_with_its_own_hash(city_copy: Path) -> None:
    edit(city_copy / "city.toml", 'name = "重庆市江北区"', 'name = "测试区"')
    city = load_city(city_copy)
    assert city.policy.city == "测试区"
    assert city.source_dir == city_copy.resolve()
    assert city.data_hash != load_city(DEFAULT_CITY_DIR).data_hash


def test_an_unknown_lead_department_names_file_and_field(city_copy: Path) -> None:
    edit(city_copy / "categories.toml", 'lead_department = "dept_market"', 'lead_department = "dept_nowhere"')
    with pytest.raises(CityDataError, match=r"categories\.toml: category\[8\]\.lead_department: unknown unit"):
        load_city(city_copy)


def test_files_are_named_relative_to_the_working_directory(city_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit(city_copy / "categories.toml", 'lead_department = "dept_market"', 'lead_department = "dept_nowhere"')
    monkeypatch.chdir(city_copy.parent)
    with pytest.raises(CityDataError) as raised:
        load_city(Path("testcity"))
    assert str(raised.value).startswith("testcity/categories.toml: category[8].lead_department: ")
    assert (raised.value.file, raised.value.field) == ("testcity/categories.toml", "category[8].lead_department")


def test_a_negative_limit_names_file_and_field(city_copy: Path) -> None:
    edit(city_copy / "categories.toml", "rectify_limit_hours = 49", "rectify_limit_hours = -3")
    with pytest.raises(CityDataError, match=r"categories\.toml: category\[3\]\.rectify_limit_hours: .*got -3"):
        load_city(city_copy)


def test_malformed_toml_names_the_file_and_line(city_copy: Path) -> None:
    (city_copy / "units.toml").write_text('[[unit]]\nid = "st_x\n', "utf-8")
    with pytest.raises(CityDataError, match=r"testcity/units\.toml: not valid TOML: .*line 2"):
        load_city(city_copy)


@pytest.mark.parametrize(
    ("file", "old", "new", "field"),
    [
        ("city.toml", '"office_command"]', '"office_nowhere"]', r"city\.toml: dispatcher_units\[1\]: unknown unit"),
        ("units.toml", 'id = "dept_water"', 'id = "dept_urban"', r"units\.toml: unit\[\d+\]\.id: duplicate"),
        (
            "grids.geojson",
            '"guarantee_unit": "gu_fagai"',
            '"guarantee_unit": "gu_nobody"',
            r"grids\.geojson: features\[0\]\.properties\.guarantee_unit: unknown unit 'gu_nobody'",
        ),
        (
            "grids.geojson",
            '"grid_id": "g_huaxinjie_2"',
            '"grid_id": "g_huaxinjie_1"',
            r"grids\.geojson: features\[1\]\.properties\.grid_id: duplicate",
        ),
        (
            "territories.geojson",
            '"unit_id": "st_dashiba"',
            '"unit_id": "st_nowhere"',
            r"territories\.geojson: features\[1\]\.properties\.unit_id: unknown unit",
        ),
        (
            "territories.geojson",
            '"unit_id": "st_dashiba"',
            '"unit_id": "dept_urban"',
            r"territories\.geojson: features\[1\]\.properties\.unit_id: dept_urban is a department",
        ),
        (
            "roads.geojson",
            '"road_chief": "dept_transport"',
            '"road_chief": "nobody"',
            r"roads\.geojson: features\[\d+\]\.properties\.road_chief: unknown unit",
        ),
        (
            "roads.geojson",
            '"buffer_m": 30',
            '"buffer_m": -5',
            r"roads\.geojson: features\[0\]\.properties\.buffer_m: must be 0 < metres",
        ),
    ],
)
def test_a_reference_to_a_unit_that_does_not_exist_or_clashes_is_named(
    city_copy: Path, file: str, old: str, new: str, field: str
) -> None:
    edit(city_copy / file, old, new)
    with pytest.raises(CityDataError, match=field):
        load_city(city_copy)


def test_overlapping_territories_are_refused(city_copy: Path) -> None:
    # Push 华新街's east edge (features[0]) into 江北城 (features[3]).
    move_edge(city_copy / "territories.geojson", 0, 106.545, 106.56)
    with pytest.raises(
        CityDataError,
        match=r"territories\.geojson: features\[3\]\.geometry: "
        r"territory st_jiangbeicheng overlaps territory st_huaxinjie by [\d,]+ m²",
    ):
        load_city(city_copy)


def test_a_gap_between_territories_is_refused_with_its_place(city_copy: Path) -> None:
    # Pull 华新街's east edge back, leaving a strip 106.53–106.545 uncovered.
    move_edge(city_copy / "territories.geojson", 0, 106.545, 106.53)
    gap = r"territories\.geojson: features: leave a gap of [\d,]+ m² in the district .* near \(lon 106\.5375"
    with pytest.raises(CityDataError, match=gap):
        load_city(city_copy)


def test_a_territory_reaching_outside_the_district_is_refused(city_copy: Path) -> None:
    move_edge(city_copy / "territories.geojson", 0, 106.48, 106.40)
    with pytest.raises(CityDataError, match=r"territories\.geojson: features\[0\]\.geometry: .* outside the district"):
        load_city(city_copy)


def test_overlapping_grids_are_named_by_their_place_in_the_file(city_copy: Path) -> None:
    # 观音桥's grid 1 (features[16]) pushed east into grid 2 (features[17]).
    move_edge(city_copy / "grids.geojson", 16, 106.5725, 106.58)
    overlap = r"grids\.geojson: features\[17\]\.geometry: grid g_guanyinqiao_2 .* overlaps grid g_guanyinqiao_1"
    with pytest.raises(CityDataError, match=overlap):
        load_city(city_copy)


def test_a_grid_must_lie_in_the_territory_it_names(city_copy: Path) -> None:
    edit(city_copy / "grids.geojson", '"territorial_unit": "st_jiangbeicheng"', '"territorial_unit": "st_huaxinjie"')
    with pytest.raises(
        CityDataError,
        match=r"grids\.geojson: features\[12\]\.properties\.territorial_unit: grid g_jiangbeicheng_1 names "
        r"st_huaxinjie .* lies in st_jiangbeicheng",
    ):
        load_city(city_copy)


def test_a_territory_without_full_grid_cover_is_refused(city_copy: Path) -> None:
    edit_geojson(city_copy / "grids.geojson", lambda fs: fs.pop(3))
    with pytest.raises(CityDataError, match=r"grids\.geojson: features: leave a gap .* in territory st_huaxinjie"):
        load_city(city_copy)


def test_an_invalid_polygon_is_named_by_its_feature(city_copy: Path) -> None:
    def bowtie(features: list[dict]) -> None:
        features[0]["geometry"]["coordinates"] = [
            [[106.48, 29.55], [106.545, 29.59], [106.545, 29.55], [106.48, 29.59], [106.48, 29.55]]
        ]

    edit_geojson(city_copy / "territories.geojson", bowtie)
    invalid = r"territories\.geojson: features\[0\]\.geometry: st_huaxinjie 华新街街道: invalid geometry: Self-inter"
    with pytest.raises(CityDataError, match=invalid):
        load_city(city_copy)


def test_a_road_outside_the_district_is_refused(city_copy: Path) -> None:
    edit_geojson(city_copy / "roads.geojson", lambda fs: fs[0]["geometry"]["coordinates"].append([106.40, 29.6025]))
    outside = r"roads\.geojson: features\[0\]\.geometry: road 建新北路 runs [\d,]+ m outside the district"
    with pytest.raises(CityDataError, match=outside):
        load_city(city_copy)


def test_a_community_has_one_guarantee_unit(city_copy: Path) -> None:
    edit(city_copy / "grids.geojson", '"community": "华新街第二村社区"', '"community": "华新街第一路社区"')
    with pytest.raises(
        CityDataError, match=r"grids\.geojson: features\[1\]\.properties\.guarantee_unit: community 华新街第一路社区"
    ):
        load_city(city_copy)


def test_a_missing_file_is_named(city_copy: Path) -> None:
    (city_copy / "grids.geojson").unlink()
    with pytest.raises(CityDataError, match=r"testcity/grids\.geojson: file is missing"):
        load_city(city_copy)


def test_times_are_shown_in_the_zone_the_city_policy_names(city_copy: Path) -> None:
    from datetime import UTC, datetime

    from rectify import views
    from rectify.city import policy_timezone

    edit(city_copy / "city.toml", 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Kathmandu"')
    assert policy_timezone(city_copy) == "Asia/Kathmandu" == load_city(city_copy).policy.timezone
    noon = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    try:
        views.shown_in(load_city(city_copy))
        assert views.local(noon) == "2026-11-24 17:45"
        views.shown_in(load_city(DEFAULT_CITY_DIR))
        assert views.local(noon) == "2026-11-24 20:00"
    finally:
        views.use_timezone(policy_timezone(DEFAULT_CITY_DIR))
