"""The responsibility router on known points of the sample city."""

from __future__ import annotations

import math
import random

import pytest
import shapely

from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.domain.errors import OutsideDistrict, UnknownCategory
from rectify.domain.router import Router, metres_between
from rectify.domain.types import Point

_M_PER_DEG_LAT = 110_574


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


def test_every_routing_names_the_grid_its_chief_community_and_guarantee_unit(city: City) -> None:
    routing = city.router.route("street_vending", Point(lon=106.58, lat=29.60))
    assert (routing.grid_id, routing.grid_chief, routing.community, routing.guarantee_unit) == (
        "g_guanyinqiao_2",
        "卢丽娟",
        "观音桥第二村社区",
        "gu_caizheng",
    )
    assert routing.road is None and routing.road_chief is None


def test_a_point_on_a_shared_border_goes_to_the_lowest_unit_id(city: City) -> None:
    # 106.545 is the edge between 华新街 (west) and 江北城 (east).
    routing = city.router.route("street_vending", Point(lon=106.545, lat=29.57))
    assert routing.territorial_unit == min("st_huaxinjie", "st_jiangbeicheng")
    # The four-way corner of 华新街, 大石坝, 江北城 and 观音桥.
    corner = city.router.route("street_vending", Point(lon=106.545, lat=29.59))
    assert corner.territorial_unit == "st_dashiba"
    # The four-way corner of 寸滩, 观音桥, 铁山坪 and 五里店; its grid belongs to the chosen territory.
    corner = city.router.route("street_vending", Point(lon=106.6, lat=29.63))
    assert (corner.territorial_unit, corner.grid_id) == ("st_cuntan", "g_cuntan_3")


def test_a_grid_border_inside_a_territory_resolves_deterministically(city: City) -> None:
    # 106.5125 splits 华新街 into its western and eastern grids.
    routing = city.router.route("street_vending", Point(lon=106.5125, lat=29.56))
    assert routing.grid_id == "g_huaxinjie_1"


def test_border_answers_do_not_depend_on_the_order_of_the_features(city: City) -> None:
    r = city.router
    shuffled = Router(r.policy, r.district, r.territories[::-1], r.grids[::-1], r.roads[::-1])
    for lon, lat in [(106.545, 29.57), (106.545, 29.59), (106.6, 29.63), (106.5125, 29.56), (106.5725, 29.6025)]:
        point = Point(lon=lon, lat=lat)
        assert shuffled.route("disorderly_parking", point) == r.route("disorderly_parking", point)


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


def test_where_two_roads_meet_the_nearest_road_is_named(city: City) -> None:
    # 港城路 (north-south at 106.648, chief 交通委) crosses 寸滩路 (east-west at 29.611, chief 寸滩街道).
    nearer_gangcheng = city.router.route("disorderly_parking", Point(lon=106.6481, lat=29.6112))  # ~10 m vs ~22 m
    assert (nearer_gangcheng.road, nearer_gangcheng.lead_unit) == ("港城路", "dept_transport")
    nearer_cuntan = city.router.route("disorderly_parking", Point(lon=106.6482, lat=29.6111))  # ~19 m vs ~11 m
    assert (nearer_cuntan.road, nearer_cuntan.lead_unit) == ("寸滩路", "st_cuntan")
    # Exactly on both: the lowest name wins.
    crossing = city.router.route("disorderly_parking", Point(lon=106.5725, lat=29.6025))
    assert crossing.road == min("建新东路", "建新北路")


def test_a_road_buffer_is_measured_in_metres(city: City) -> None:
    inside = Point(lon=106.5800, lat=29.6025 + 25 / _M_PER_DEG_LAT)  # 25 m north of 建新北路 (buffer 30 m)
    outside = Point(lon=106.5800, lat=29.6025 + 35 / _M_PER_DEG_LAT)
    assert city.router.route("disorderly_parking", inside).road == "建新北路"
    assert city.router.route("disorderly_parking", outside).road is None


def test_a_road_buffer_is_an_exact_round_cap_beyond_the_end_of_the_road(city: City) -> None:
    end = (106.595, 29.6025)  # the east end of 建新北路 (buffer 30 m)
    local = city.router.local  # offsets in the router's own projection, so the test is exact to the centimetre

    def at(metres: float, degrees: float) -> Point:
        x, y = local.xy(*end)
        angle = math.radians(degrees)
        dx, dy = metres * math.cos(angle), metres * math.sin(angle)
        return Point(lon=local.lon0 + (x + dx) / local.kx, lat=local.lat0 + (y + dy) / _M_PER_DEG_LAT)

    angles = [a / 4 for a in range(-360, 361)]  # every quarter degree round the cap
    assert {city.router.route("disorderly_parking", at(29.98, a)).road for a in angles} == {"建新北路"}
    assert {city.router.route("disorderly_parking", at(30.02, a)).road for a in angles} == {None}


def test_a_department_led_category_goes_to_its_department(city: City) -> None:
    routing = city.router.route("noise", Point(lon=106.575, lat=29.61))
    assert routing.lead_unit == "dept_ecology" and routing.rule == "department"
    assert routing.territorial_unit == "st_guanyinqiao"


def test_a_department_led_category_on_a_road_still_goes_to_its_department(city: City) -> None:
    routing = city.router.route("traffic_order", Point(lon=106.5800, lat=29.6025))
    assert routing.lead_unit == "dept_police_traffic" and routing.rule == "department"
    assert routing.road == "建新北路" and routing.road_chief == "st_guanyinqiao"


@pytest.mark.parametrize(
    "point", [Point(lon=106.3, lat=29.6), Point(lon=106.6, lat=29.8), Point(lon=116.39, lat=39.91)]
)
def test_a_point_outside_the_district_is_refused_naming_it(city: City, point: Point) -> None:
    with pytest.raises(OutsideDistrict, match=rf"lon {point.lon}, lat {point.lat}"):
        city.router.route("street_vending", point)


def test_the_district_boundary_counts_as_inside(city: City) -> None:
    assert city.router.route("street_vending", Point(lon=106.48, lat=29.55)).territorial_unit == "st_huaxinjie"


def test_an_unknown_category_is_refused_naming_it(city: City) -> None:
    with pytest.raises(UnknownCategory, match="flying_cars"):
        city.router.route("flying_cars", Point(lon=106.575, lat=29.61))
    with pytest.raises(UnknownCategory):  # the category is checked first, wherever the point is
        city.router.route("flying_cars", Point(lon=0, lat=0))


def test_every_point_gets_a_grid_of_its_own_territory_that_covers_it(city: City) -> None:
    territories = {t.unit_id: t for t in city.router.territories}
    grids = {g.grid_id: g for g in city.router.grids}
    rng = random.Random(7)
    west, south, east, north = city.router.bounds
    for _ in range(500):
        point = Point(lon=round(rng.uniform(west, east), 4), lat=round(rng.uniform(south, north), 4))
        routing = city.router.route("street_vending", point)
        at = shapely.Point(point.lon, point.lat)
        grid = grids[routing.grid_id]
        assert grid.territorial_unit == routing.territorial_unit
        assert grid.shape.covers(at) and territories[routing.territorial_unit].shape.covers(at)
        assert (grid.chief, grid.community, grid.guarantee_unit) == (
            routing.grid_chief,
            routing.community,
            routing.guarantee_unit,
        )


def test_metres_between_nearby_points() -> None:
    a, b = Point(lon=106.58, lat=29.60), Point(lon=106.58, lat=29.601)
    assert metres_between(a, b) == pytest.approx(110.6, abs=0.5)
    assert metres_between(a, Point(lon=106.581, lat=29.60)) == pytest.approx(96.8, abs=0.5)
    assert metres_between(a, a) == 0
