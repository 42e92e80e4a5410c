"""RoundWorkflow end to end on the time-skipping server: a round started by hand, a point recorded item by item, a
failed item opening a case through the intake routed to the point's units, a wrong record refused, a round missing
its due time (and climbing the ladder, as the sample city's policy says rounds do), then expiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from rectify.client import CaseNotFound, CommandRejected
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.points import ItemAnswer
from rectify.domain.rounds import RoundState, RoundStatus
from rectify.domain.types import Channel
from rectify.store import inspections
from rectify.workflows.models import round_workflow_id
from rectify.workflows.round_workflow import RoundWorkflow
from tests.support.scenario import DISPATCHER, INSPECTOR, REPORTER, photo


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


def answers(stack: TestStack, point_id: str, *failing: str) -> list[ItemAnswer]:
    category = stack.city.policy.inspection.point_categories[stack.city.points[point_id].category]
    return [
        ItemAnswer(item=i.code, passed=False, evidence=(photo(i.code),), note="垃圾桶满溢，周边有散落垃圾")
        if i.code in failing
        else ItemAnswer(item=i.code, passed=True)
        for i in category.items
    ]


async def test_a_failed_item_opens_a_case_routed_to_the_points_units(stack: TestStack) -> None:
    market = stack.city.points[
        "p001"
    ]  # 华新街农贸市场: 华新街街道's, adopted by gu_shangwu (its community by gu_fagai)
    assert market.category == "farmers_market" and market.territorial_unit == "st_huaxinjie"
    started = await stack.client.start_round(point_ids=["p001", "p002"], actor=DISPATCHER, round_id="walk-1")
    assert started.status is RoundStatus.OPEN and started.remaining == ("p001", "p002")

    with pytest.raises(CommandRejected, match="a failure needs a photo and a note") as refused:
        bad = [a.model_copy(update={"evidence": ()}) if not a.passed else a for a in answers(stack, "p001", "bins_ok")]
        await stack.client.record_point("walk-1", "p001", INSPECTOR, bad)
    assert refused.value.rule == "invalid_command"
    with pytest.raises(CommandRejected, match="walked by office_inspection"):
        await stack.client.record_point("walk-1", "p001", REPORTER, answers(stack, "p001"))
    assert await stack.store.load_records("pt-p001") == []  # nothing written by a refused record

    recorded = await stack.client.record_point(
        "walk-1", "p001", INSPECTOR, answers(stack, "p001", "bins_ok"), command_id="phone-form-1"
    )
    case_id = recorded.cases["bins_ok"]
    case = await stack.store.get_case(case_id)
    assert case is not None and case.point_id == "p001" and case.category == "garbage_sorting"
    assert (case.lead_unit, case.territorial_unit, case.guarantee_unit) == (
        "st_huaxinjie",
        "st_huaxinjie",
        "gu_shangwu",
    )
    assert case.channel == "inspection" and case.status == "dispatched"
    types = [r.type for r in await stack.store.load_records("pt-p001")]
    assert types == ["point_inspected", "failure_case_opened"]

    again = await stack.client.record_point(  # the phone sends its kept form again: answered, not recorded twice
        "walk-1", "p001", INSPECTOR, answers(stack, "p001", "bins_ok"), command_id="phone-form-1"
    )
    assert again.cases == recorded.cases and len(await stack.store.load_records("pt-p001")) == 2
    with pytest.raises(CommandRejected, match="recorded already"):
        await stack.client.record_point("walk-1", "p001", INSPECTOR, answers(stack, "p001"))

    done = await stack.client.record_point("walk-1", "p002", INSPECTOR, answers(stack, "p002"))
    assert done.state.status is RoundStatus.COMPLETED and done.cases == {}
    handle = stack.env.client.get_workflow_handle(round_workflow_id("rd-walk-1"), result_type=RoundState)
    assert (await handle.result()).status is RoundStatus.COMPLETED
    [row] = await stack.client.rounds(unit="office_inspection")
    assert (row.status, row.recorded, row.failed, row.missed) == ("completed", 2, 1, False)
    board = {b.point.point_id: b for b in await stack.client.battle_map()}
    assert board["p001"].readiness.level == "not_ready" and board["p002"].readiness.level == "ready"
    assert board["p003"].readiness.level == "stale"


async def test_a_round_missing_its_due_time_is_recorded_missed_climbs_and_expires(stack: TestStack) -> None:
    await stack.client.start_round(point_ids=["p003", "p004"], actor=DISPATCHER, round_id="late-1", hours=1)
    await stack.client.record_point("late-1", "p003", INSPECTOR, answers(stack, "p003"))
    handle = stack.env.client.get_workflow_handle(round_workflow_id("rd-late-1"), result_type=RoundState)
    await stack.env.sleep(timedelta(hours=2))
    state = await handle.query(RoundWorkflow.state)
    assert state is not None and state.missed and state.status is RoundStatus.OPEN
    events = await inspections.round_events(stack.store.pool, "late-1")
    missed = next(e for e in events if e.type == "round_missed")
    assert missed.remaining == ("p004",) and missed.unit == "office_inspection" and missed.due_at == state.due_at
    assert any(e.type == "round_escalated" and e.level == 1 for e in events)  # 催办, as the policy says
    [row] = await stack.client.rounds(unit="office_inspection")
    assert row.missed and row.escalation_level >= 1
    await stack.env.sleep(timedelta(hours=30))  # on to the expiry, a day after the due time: the workflow ends
    final = await handle.query(RoundWorkflow.state)
    assert final is not None and final.status is RoundStatus.EXPIRED and final.remaining == ("p004",)
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    assert (await stack.client.round("late-1")).status is RoundStatus.EXPIRED
    with pytest.raises(CaseNotFound):
        await stack.client.round("never-planned")


async def test_a_round_is_refused_before_it_starts(stack: TestStack) -> None:
    with pytest.raises(CommandRejected, match="unknown points"):
        await stack.client.start_round(point_ids=["p001", "p999"], actor=DISPATCHER)
    with pytest.raises(CommandRejected, match="planned by the office"):
        await stack.client.start_round(point_ids=["p001"], actor=INSPECTOR)
    with pytest.raises(CommandRejected, match="each point once"):
        await stack.client.start_round(point_ids=["p001", "p001"], actor=DISPATCHER)


async def test_a_round_due_before_the_clocks_now_is_refused_naming_the_rule(stack: TestStack) -> None:
    """Due before this machine's clock: refused before it starts. Due before the server's clock only (a
    time-skipping server two days ahead): the workflow refuses the plan, and the answer still names the rule, not
    the server's "workflow completed"."""
    wall = datetime.now(UTC)
    with pytest.raises(CommandRejected, match="due time must come after it starts") as refused:
        await stack.client.start_round(
            point_ids=["p005"], actor=DISPATCHER, hours=1, at=wall - timedelta(hours=3), round_id="past-1"
        )
    assert refused.value.rule == "invalid_command"
    await stack.env.sleep(timedelta(days=2))
    with pytest.raises(CommandRejected, match="due time must come after it starts") as refused:
        await stack.client.start_round(point_ids=["p005"], actor=DISPATCHER, hours=1, round_id="past-2")
    assert refused.value.rule == "invalid_command"
    assert await stack.client.rounds() == []


async def test_a_round_started_by_hand_is_due_hours_after_the_callers_clock(stack: TestStack) -> None:
    """The due time counts from the caller's clock (`at`), as a report's duplicate window does, not the wall clock:
    on a time-skipping server two days ahead of it, a round due an hour after the server's now is planned and runs
    until then, and is missed after."""
    await stack.env.sleep(timedelta(days=2))
    now = await stack.env.get_current_time()
    started = await stack.client.start_round(point_ids=["p005"], actor=DISPATCHER, round_id="ahead-1", hours=1, at=now)
    assert started.status is RoundStatus.OPEN and started.due_at == now + timedelta(hours=1)
    handle = stack.env.client.get_workflow_handle(round_workflow_id("rd-ahead-1"), result_type=RoundState)
    await stack.env.sleep(timedelta(minutes=50))
    assert (await handle.query(RoundWorkflow.state)).missed is False  # type: ignore[union-attr]
    await stack.env.sleep(timedelta(minutes=20))
    assert (await handle.query(RoundWorkflow.state)).missed is True  # type: ignore[union-attr]


async def test_a_failed_item_repeating_an_open_case_puts_that_case_on_the_point(stack: TestStack) -> None:
    """A failed item whose report repeats an open case joins it (the duplicate rule): that case then carries the
    point's id, so the point's readiness counts it as the point's page lists it."""
    market = stack.city.points["p001"]
    citizen = await stack.client.report(
        idempotency_key="citizen-bins",
        category="garbage_sorting",  # what p001's bins_ok opens
        description="农贸市场门口垃圾桶满溢",
        location=market.location,
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    await stack.client.start_round(point_ids=["p001"], actor=DISPATCHER, round_id="repeat-1")
    recorded = await stack.client.record_point("repeat-1", "p001", INSPECTOR, answers(stack, "p001", "bins_ok"))
    assert recorded.cases == {"bins_ok": citizen.case_id}  # joined, not opened anew
    case = await stack.store.get_case(citizen.case_id)
    assert case is not None and case.duplicates == 1 and case.point_id == "p001"
    on_point = await inspections.cases_on_points(stack.store.pool, ["p001"])
    assert [c.case_id for c in on_point["p001"]] == [citizen.case_id]
