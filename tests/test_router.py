"""The responsibility router on known points of the sample city."""

from __future__ import annotations

import pytest

from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.domain.errors import OutsideDistrict, UnknownCategory
from rectify.domain.router import metres_between
from rectify.domain.types import Point


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(DEFAULT_CITY_DIR)


@pytest.mark.parametrize(
    ("lon", "lat", "territory"),
    [
        (106.515, 29.565, "st_huaxinjie"),
        (106.575, 29.61, "st_guanyinqiao"),
        (106.65, 29.60, "st_cuntan"),
        (106.80, 29.70, "town_yuzui"),
        (106.75, 29.56, "town_wubao"),
    ],
)
def test_a_point_is_led_by_the_street_or_town_containing_it(city: City, lon: float, lat: float, territory: str) -> None:
    routing = city.router.route("street_vending", Point(lon=lon, lat=lat))
    assert routing.territorial_unit == territory
    assert routing.lead_unit == territory and routing.rule == "territorial"
    assert routing.grid_id.startswith("g_") and routing.grid_chief and routing.community and routing.guarantee_unit


def test_a_point_on_a_shared_border_goes_to_the_lowest_unit_id(city: City) -> None:
    # 106.545 is the edge between 华新街 (west) and 江北城 (east).
    routing = city.router.route("street_vending", Point(lon=106.545, lat=29.57))
    assert routing.territorial_unit == min("st_huaxinjie", "st_jiangbeicheng")
    # The four-way corner of 华新街, 大石坝, 江北城 and 观音桥.
    corner = city.router.route("street_vending", Point(lon=106.545, lat=29.59))
    assert corner.territorial_unit == "st_dashiba"


def test_a_grid_border_inside_a_territory_resolves_deterministically(city: City) -> None:
    # 106.5125 splits 华新街 into its western and eastern grids.
    routing = city.router.route("street_vending", Point(lon=106.5125, lat=29.56))
    assert routing.grid_id == "g_huaxinjie_1"


def test_on_a_road_the_road_chief_leads_a_road_chief_category(city: City) -> None:
    on_road = Point(lon=106.5800, lat=29.6025)  # 建新北路, chief: 观音桥街道
    routing = city.router.route("disorderly_parking", on_road)
    assert (routing.road, routing.road_chief, routing.lead_unit, routing.rule) == (
        "建新北路",
        "st_guanyinqiao",
        "st_guanyinqiao",
        "road_chief",
    )
    dept_road = city.router.route("public_facilities", Point(lon=106.6480, lat=29.65))  # 港城路, 交通委
    assert dept_road.lead_unit == "dept_transport" and dept_road.territorial_unit == "st_tieshanping"


def test_the_same_point_for_a_territorial_category_names_the_road_but_the_street_leads(city: City) -> None:
    routing = city.router.route("street_vending", Point(lon=106.6480, lat=29.65))
    assert routing.road == "港城路" and routing.road_chief == "dept_transport"
    assert routing.lead_unit == "st_tieshanping" and routing.rule == "territorial"


def test_off_road_a_road_chief_category_falls_back_to_the_territory(city: City) -> None:
    routing = city.router.route("disorderly_parking", Point(lon=106.56, lat=29.61))
    assert routing.road is None and routing.lead_unit == "st_guanyinqiao"
    assert routing.rule == "territorial_fallback"


def test_a_road_buffer_is_measured_in_metres(city: City) -> None:
    inside = Point(lon=106.5800, lat=29.6025 + 25 / 110_574)  # 25 m north of 建新北路 (buffer 30 m)
    outside = Point(lon=106.5800, lat=29.6025 + 40 / 110_574)
    assert city.router.route("disorderly_parking", inside).road == "建新北路"
    assert city.router.route("disorderly_parking", outside).road is None


def test_a_department_led_category_goes_to_its_department(city: City) -> None:
    routing = city.router.route("noise", Point(lon=106.575, lat=29.61))
    assert routing.lead_unit == "dept_ecology" and routing.rule == "department"
    assert routing.territorial_unit == "st_guanyinqiao"


@pytest.mark.parametrize(
    "point", [Point(lon=106.3, lat=29.6), Point(lon=106.6, lat=29.8), Point(lon=116.39, lat=39.91)]
)
def test_a_point_outside_the_district_is_refused(city: City, point: Point) -> None:
    with pytest.raises(OutsideDistrict, match=f"{point.lon}"):
        city.router.route("street_vending", point)


def test_an_unknown_category_is_refused_naming_it(city: City) -> None:
    with pytest.raises(UnknownCategory, match="flying_cars"):
        city.router.route("flying_cars", Point(lon=106.575, lat=29.61))


def test_metres_between_nearby_points() -> None:
    a, b = Point(lon=106.58, lat=29.60), Point(lon=106.58, lat=29.601)
    assert metres_between(a, b) == pytest.approx(110.6, abs=0.5)
    assert metres_between(a, Point(lon=106.581, lat=29.60)) == pytest.approx(96.8, abs=0.5)
