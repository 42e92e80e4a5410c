"""The duplicate rule (domain/duplicates.py) on its own: the nearest open case of the category, within its radius
and the window. Every intake path asks it through the SDK (tests/workflows/test_duplicates.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain.duplicates import Candidate, Duplicate, duplicate_of, search_area
from rectify.domain.types import CaseStatus, Point
from tests.support.given import POLICY, T0

SPOT = Point(lon=106.57, lat=29.6)
METRE = 1 / 111_320  # degrees of latitude per metre
RADIUS = POLICY.categories["street_vending"].duplicate_radius_m  # 50 m
WINDOW = timedelta(hours=POLICY.duplicate_window_hours)


def case(case_id: str, north_m: float = 0, **changes: object) -> Candidate:
    fields = {
        "case_id": case_id,
        "category": "street_vending",
        "location": Point(lon=SPOT.lon, lat=SPOT.lat + north_m * METRE),
        "opened_at": T0,
        "status": CaseStatus.DISPATCHED,
    } | changes
    return Candidate(**fields)


def found(*candidates: Candidate, now=T0 + timedelta(hours=1)) -> Duplicate | None:
    return duplicate_of(POLICY, "street_vending", SPOT, now, candidates)


def test_the_nearest_open_case_of_the_category_within_its_radius_is_the_duplicate() -> None:
    nearest = found(case("far", 30), case("near", 10))
    assert nearest == Duplicate("near", nearest.distance_m) and nearest.distance_m == pytest.approx(10, abs=0.2)
    assert found(case("b", 5), case("a", 5)).case_id == "a"  # a tie goes to the lower id, whatever the order
    assert found(case("edge", RADIUS - 0.5)) is not None
    assert found(case("beyond", RADIUS + 0.5)) is None


def test_another_category_a_case_no_longer_open_or_one_opened_too_long_ago_is_no_duplicate() -> None:
    assert found(case("other", category="illegal_structures")) is None
    for status in (CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.MERGED, CaseStatus.WITHDRAWN):
        assert found(case("ended", status=status)) is None
    assert found(case("suspended", status=CaseStatus.SUSPENDED)) is not None
    now = T0 + WINDOW
    assert found(case("at the edge"), now=now) is not None  # the window's edge counts
    assert found(case("too old"), now=now + timedelta(seconds=1)) is None


def test_the_search_area_holds_every_case_the_rule_could_choose() -> None:
    area = search_area(POLICY, "street_vending", SPOT, T0 + WINDOW)
    assert area.since == T0 and area.statuses >= {CaseStatus.DISPATCHED, CaseStatus.SUSPENDED}
    for north_m, east_m in ((RADIUS, 0), (-RADIUS, 0), (0, RADIUS), (0, -RADIUS)):
        lat, lon = SPOT.lat + north_m * METRE, SPOT.lon + east_m * METRE / 0.87  # cos(29.6°) ≈ 0.87
        assert area.min_lat <= lat <= area.max_lat and area.min_lon <= lon <= area.max_lon
