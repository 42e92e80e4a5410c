"""The duplicate rule through the SDK, which every intake path files through.

The rule on its own is in tests/domain/test_duplicate_rule.py; the CLI's path in tests/cli/test_cli.py, Open311's
in tests/api/test_api_open311.py (and tests/faults/test_duplicate_race.py), the simulation's in
tests/sim/test_simulation.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel, Point
from rectify.workflows.models import workflow_id_for
from tests.support.scenario import INSPECTOR, REPORTER, photo, point_in, unit

METRE = 1 / 111_320  # degrees of latitude per metre


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
