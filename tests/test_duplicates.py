"""The duplicate rule (domain/duplicates.py) on its own, and through the SDK, which every intake path files through.

The CLI's path is in test_cli.py, Open311's in test_api_open311.py (and faults/test_duplicate_race.py), the
simulation's in test_simulation.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.duplicates import Candidate, Duplicate, duplicate_of, search_area
from rectify.domain.types import CaseStatus, Channel, Point
from rectify.workflows.models import workflow_id_for
from tests.given import POLICY, T0
from tests.scenario import INSPECTOR, REPORTER, photo, point_in, unit

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


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def _report(stack: TestStack, key: str, at: Point, category: str = "street_vending"):
    return await stack.client.report(
        idempotency_key=key,
        category=category,
        description="流动摊贩占道经营",
        location=at,
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )


async def test_a_repeat_report_through_the_sdk_joins_the_open_case_and_a_retry_gets_the_same_answer(
    stack: TestStack,
) -> None:
    spot = point_in(stack.city, "st_guanyinqiao")
    first = await _report(stack, "sdk-dup-1", spot)
    assert not first.duplicate
    again = await _report(stack, "sdk-dup-2", Point(lon=spot.lon, lat=spot.lat + 20 * METRE))
    assert again.duplicate and again.case_id == first.case_id and again.distance_m == pytest.approx(20, abs=0.5)
    assert (await _report(stack, "sdk-dup-2", Point(lon=spot.lon, lat=spot.lat + 20 * METRE))) == again
    other = await _report(stack, "sdk-dup-3", spot, category="posters_graffiti")
    assert not other.duplicate and other.case_id != first.case_id
    events = await stack.store.load(first.case_id)
    attached = [e for e in events if e.type == "duplicate_attached"]
    assert [(e.idempotency_key, e.distance_m) for e in attached] == [("sdk-dup-2", again.distance_m)]
    assert (await stack.store.get_case(first.case_id)).duplicates == 1

    # Once the case is closed, a report at the spot is a new problem: a case of its own.
    lead = unit(first.lead_unit)
    await stack.client.claim(first.case_id, lead)
    await stack.client.submit(first.case_id, lead, [photo()])
    await stack.client.verify(first.case_id, INSPECTOR, True)
    later = await _report(stack, "sdk-dup-4", spot)
    assert not later.duplicate and later.case_id != first.case_id


async def test_a_target_that_refuses_the_attach_leaves_the_report_a_case_of_its_own(stack: TestStack) -> None:
    spot = point_in(stack.city, "st_guanyinqiao", index=1)
    first = await _report(stack, "sdk-gone-1", spot)
    # Its workflow is gone while the store still shows it open (as after losing a Temporal cluster).
    await stack.env.client.get_workflow_handle(workflow_id_for(first.case_id)).terminate("lost")
    assert (await stack.client.duplicate_of("street_vending", spot, first.due_at)) is not None
    second = await _report(stack, "sdk-gone-2", spot)
    assert not second.duplicate and second.case_id != first.case_id and second.status == "dispatched"
    assert [e.type for e in await stack.store.load(first.case_id)].count("duplicate_attached") == 0
