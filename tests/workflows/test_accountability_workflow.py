"""问责 proceedings: the top rung opens an AccountabilityWorkflow child on the time-skipping server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.accountability import Outcome
from rectify.domain.types import Actor, Channel, Role
from tests.support.scenario import INSPECTOR, REPORTER, photo, point_in

REVIEWER = Actor(unit_id="office_inspection", role=Role.REVIEWER)


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def wait_for(check, seconds: float = 30):
    give_up = time.monotonic() + seconds
    while not (found := await check()):
        assert time.monotonic() < give_up, "timed out"
        await asyncio.sleep(0.05)
    return found


async def test_the_top_rung_opens_a_proceeding_that_outlives_the_case_and_costs_the_unit_points(
    stack: TestStack,
) -> None:
    ref = await stack.client.report(
        idempotency_key="acc-1",
        category="street_vending",
        description="占道经营",
        location=point_in(stack.city, "st_guanyinqiao"),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    await stack.env.sleep(timedelta(days=12))  # nobody acts: 催办, 曝光, 扣分, 问责
    [row] = await wait_for(lambda: stack.client.proceedings(case_id=ref.case_id))
    assert row.unit == ref.lead_unit and row.status == "referred"
    lead = Actor(unit_id=ref.lead_unit, role=Role.UNIT)
    await stack.client.claim(ref.case_id, lead)  # the case is fixed and closed meanwhile …
    await stack.client.submit(ref.case_id, lead, [photo()], "已整改")
    await stack.client.verify(ref.case_id, INSPECTOR, True)
    result = await stack.client.explain(row.proceeding_id, lead, "人手不足，已增派力量")  # … the proceeding goes on
    assert result.state.status == "explained"
    decided = await stack.client.decide_accountability(row.proceeding_id, REVIEWER, Outcome.INTERVIEW, "约谈主要负责人")
    assert (decided.state.status, decided.state.outcome, decided.state.points) == ("closed", "interview", 2.0)
    _, events = await stack.client.proceeding(row.proceeding_id)
    assert [e.type for e in events] == [
        "proceeding_opened",
        "explanation_submitted",
        "proceeding_decided",
        "proceeding_closed",
    ]
    assert [m.stage for m in events[0].missed] == ["claim", "rectify"]
    opened_on = events[0].occurred_at
    counts = await stack.store.unit_counts(opened_on - timedelta(days=30), decided.events[0].occurred_at + timedelta(1))
    assert counts[ref.lead_unit].points == 2.0 + 2.0  # 扣分 rung (2) and the interview (2)
    assert (await stack.store.diff_read_models()).clean
    inbox = await wait_for(lambda: stack.store.inbox(ref.lead_unit))
    assert any("问责" in n["text"] for n in inbox)
