"""CaseWorkflow end to end on the time-skipping server, embedded PostgreSQL and a real worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.client import CaseNotFound, CommandRejected, RectifyClient
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.commands import ClaimCase
from rectify.domain.decider import decide
from rectify.domain.state import fold
from rectify.domain.types import Channel, Point
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.models import workflow_id_for
from tests.scenario import DISPATCHER, INSPECTOR, REPORTER, photo, point_in, territorial_category, unit


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def report(stack: TestStack, key: str, **overrides: object):
    city = stack.city
    args = {
        "idempotency_key": key,
        "category": territorial_category(city),
        "description": "人行道上有流动摊贩占道经营",
        "location": point_in(city),
        "channel": Channel.SNAPSHOT,
        "actor": REPORTER,
    } | overrides
    return await stack.client.report(**args)


async def history_length(stack: TestStack, case_id: str) -> int:
    history = await stack.env.client.get_workflow_handle(workflow_id_for(case_id)).fetch_history()
    return len(history.events)


async def settled_history_length(stack: TestStack, case_id: str) -> int:
    """History length once the asynchronous work after the last command (notification delivery) is done."""
    previous = -1
    for _ in range(100):
        length = await history_length(stack, case_id)
        if length == previous and await stack.store.undelivered() == 0:
            return length
        previous = length
        await asyncio.sleep(0.1)
    raise AssertionError("the workflow history did not settle")


async def assert_store_matches_workflow(stack: TestStack, case_id: str) -> None:
    events = await stack.store.load(case_id)
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    view = await stack.client.get(case_id)
    assert fold(events) == view.state
    row = await stack.store.get_case(case_id)
    assert row.status == view.state.status and row.version == view.state.version


async def test_a_report_is_routed_and_dispatched_to_the_lead_unit(stack: TestStack) -> None:
    ref = await report(stack, "happy-1")
    assert ref.status == "dispatched"
    expected = stack.city.router.route(territorial_category(stack.city), point_in(stack.city))
    assert ref.lead_unit == expected.lead_unit
    events = await stack.store.load(ref.case_id)
    assert [e.type for e in events] == [
        "case_reported",
        "deadline_set",
        "case_dispatched",
        "deadline_set",
        "deadline_set",
    ]


async def test_happy_path_claim_submit_verify_closes_the_case(stack: TestStack) -> None:
    ref = await report(stack, "happy-2")
    lead = unit(ref.lead_unit)
    await stack.client.claim(ref.case_id, lead)
    await stack.client.submit(ref.case_id, lead, [photo()], "摊贩已劝离")
    result = await stack.client.verify(ref.case_id, INSPECTOR, passed=True, note="现场核查通过")
    assert result.state.status == "closed"
    assert [e.type for e in await stack.client.history(ref.case_id)][-5:] == [
        "case_claimed",
        "rectification_submitted",
        "deadline_set",
        "case_closed",
        "deadline_set",
    ]
    await assert_store_matches_workflow(stack, ref.case_id)


async def test_failed_verification_sends_the_case_back_to_rework(stack: TestStack) -> None:
    ref = await report(stack, "rework-1")
    lead = unit(ref.lead_unit)
    await stack.client.claim(ref.case_id, lead)
    await stack.client.submit(ref.case_id, lead, [photo("first")])
    result = await stack.client.verify(ref.case_id, INSPECTOR, passed=False, note="仍有摊位")
    assert result.state.status == "claimed" and result.state.rework_count == 1
    await stack.client.submit(ref.case_id, lead, [photo("second")])
    result = await stack.client.verify(ref.case_id, DISPATCHER, passed=True)
    assert result.state.status == "closed"
    await assert_store_matches_workflow(stack, ref.case_id)


async def test_dispute_then_reassign_moves_the_case_to_another_unit(stack: TestStack) -> None:
    ref = await report(stack, "dispute-1")
    other = next(u for u in stack.city.policy.units if u != ref.lead_unit and u.startswith("dept_"))
    await stack.client.dispute(ref.case_id, unit(ref.lead_unit), "该点位属交通设施，非我街道职责")
    result = await stack.client.reassign(ref.case_id, DISPATCHER, other, "改派职能部门")
    assert result.state.lead_unit == other and result.state.status == "dispatched"
    with pytest.raises(CommandRejected) as rejected:
        await stack.client.claim(ref.case_id, unit(ref.lead_unit))
    assert rejected.value.rule == "not_authorised"
    await stack.client.claim(ref.case_id, unit(other))
    await assert_store_matches_workflow(stack, ref.case_id)


async def test_dispute_upheld_keeps_the_same_unit(stack: TestStack) -> None:
    ref = await report(stack, "uphold-1")
    await stack.client.dispute(ref.case_id, unit(ref.lead_unit), "不属于本单位")
    result = await stack.client.uphold(ref.case_id, DISPATCHER, "属地管理，维持派遣")
    assert result.state.status == "dispatched" and result.state.lead_unit == ref.lead_unit
    await stack.client.claim(ref.case_id, unit(ref.lead_unit))


async def test_rejected_at_intake_ends_the_workflow(stack: TestStack) -> None:
    ref = await report(stack, "reject-1")
    result = await stack.client.reject(ref.case_id, DISPATCHER, "重复举报，已在处理")
    assert result.state.status == "rejected"
    outcome = await stack.env.client.get_workflow_handle_for(CaseWorkflow.run, workflow_id_for(ref.case_id)).result()
    assert outcome.status == "rejected"
    with pytest.raises(CommandRejected) as rejected:
        await stack.client.claim(ref.case_id, unit(ref.lead_unit))
    assert rejected.value.rule in {"case_ended", "wrong_status"}


async def test_reporter_withdraws_before_claim_but_not_after(stack: TestStack) -> None:
    first = await report(stack, "withdraw-1")
    result = await stack.client.withdraw(first.case_id, REPORTER, "问题已自行解决")
    assert result.state.status == "withdrawn"
    second = await report(stack, "withdraw-2")
    await stack.client.claim(second.case_id, unit(second.lead_unit))
    with pytest.raises(CommandRejected, match="withdraw"):
        await stack.client.withdraw(second.case_id, REPORTER, "不需要了")


async def test_a_duplicate_merges_into_an_open_case_only(stack: TestStack) -> None:
    target = await report(stack, "merge-target")
    # Reported elsewhere (at the same spot the SDK itself would attach it as a duplicate): the dispatcher merges.
    duplicate = await report(stack, "merge-dup", location=point_in(stack.city, index=1))
    result = await stack.client.merge(duplicate.case_id, DISPATCHER, target.case_id)
    assert result.state.status == "merged" and result.state.merged_into == target.case_id
    third = await report(stack, "merge-3", location=point_in(stack.city, index=2))
    with pytest.raises(CommandRejected, match="not found"):
        await stack.client.merge(third.case_id, DISPATCHER, "no-such-case")


async def test_a_merge_is_recorded_on_both_cases_and_the_target_goes_on(stack: TestStack) -> None:
    target = await report(stack, "absorb-target")
    duplicate = await report(stack, "absorb-dup", location=point_in(stack.city, index=1))
    await stack.client.merge(duplicate.case_id, DISPATCHER, target.case_id)
    for _ in range(100):  # the merged case's workflow sends the target's workflow its command
        absorbed = [e for e in await stack.store.load(target.case_id) if e.type == "case_absorbed"]
        if absorbed:
            break
        await asyncio.sleep(0.1)
    assert [(e.merged_case_id, e.actor) for e in absorbed] == [(duplicate.case_id, DISPATCHER)]
    view = await stack.client.get(target.case_id)
    assert view.state.absorbed == (duplicate.case_id,) and view.state.status == "dispatched"
    result = await stack.client.claim(target.case_id, unit(target.lead_unit))
    assert result.state.status == "claimed"
    await assert_store_matches_workflow(stack, target.case_id)
    assert [e.type for e in await stack.store.load(duplicate.case_id)][-1] == "case_merged"


async def test_reopen_a_closed_case_starts_a_new_cycle(stack: TestStack) -> None:
    ref = await report(stack, "reopen-1")
    lead = unit(ref.lead_unit)
    await stack.client.claim(ref.case_id, lead)
    await stack.client.submit(ref.case_id, lead, [photo()])
    await stack.client.verify(ref.case_id, INSPECTOR, passed=True)
    result = await stack.client.reopen(ref.case_id, REPORTER, "摊贩又回来了")
    assert result.state.status == "claimed" and result.state.rework_count == 1
    await stack.client.submit(ref.case_id, lead, [photo("again")])
    await stack.client.verify(ref.case_id, INSPECTOR, passed=True)
    await assert_store_matches_workflow(stack, ref.case_id)


@pytest.fixture
async def dev_stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    """The real dev server: rejected updates there leave no trace at all (speculative workflow tasks)."""
    async with TestStack(pg=pg, time_skipping=False) as s:
        yield s


async def test_an_invalid_command_leaves_the_history_unchanged(dev_stack: TestStack) -> None:
    stack = dev_stack
    ref = await report(stack, "invalid-1")
    before = await settled_history_length(stack, ref.case_id)
    store_before = len(await stack.store.load(ref.case_id))
    with pytest.raises(CommandRejected) as rejected:
        await stack.client.verify(ref.case_id, INSPECTOR, passed=True)  # nothing submitted yet
    assert rejected.value.rule == "wrong_status" and "dispatched" in str(rejected.value)
    with pytest.raises(CommandRejected) as rejected:
        await stack.client.claim(ref.case_id, DISPATCHER)  # wrong role
    assert rejected.value.rule == "not_authorised"
    assert await history_length(stack, ref.case_id) == before
    assert len(await stack.store.load(ref.case_id)) == store_before
    await stack.client.claim(ref.case_id, unit(ref.lead_unit))  # the worker is still fine


async def test_a_retried_report_returns_the_same_case(stack: TestStack) -> None:
    first = await report(stack, "retry-1")
    again = await report(stack, "retry-1")
    assert again.case_id == first.case_id
    with pytest.raises(CommandRejected) as other:  # the key names one report: another one is not a retry
        await report(stack, "retry-1", description="同一举报的重复提交")
    assert other.value.rule == "idempotency_key_reused"
    assert len(await stack.store.load(first.case_id)) == 5
    assert len(await stack.client.list()) == 1


async def test_bad_intake_is_refused_before_anything_is_written(stack: TestStack) -> None:
    cases = [
        ({"category": "no_such_category"}, "unknown_category"),
        ({"location": Point(lon=120.0, lat=30.0)}, "outside_district"),
        ({"description": "   "}, "invalid_command"),
        ({"description": "长" * 2001}, "invalid_text"),
    ]
    for i, (override, rule) in enumerate(cases):
        with pytest.raises(CommandRejected) as rejected:
            await report(stack, f"bad-{i}", **override)
        assert rejected.value.rule == rule
    assert await stack.client.list() == []
    with pytest.raises(CaseNotFound):
        await stack.client.get("no-such-case")
    with pytest.raises(CaseNotFound):
        await stack.client.claim("no-such-case", unit("st_guanyinqiao"))


async def test_twenty_concurrent_commands_leave_gap_free_versions(stack: TestStack) -> None:
    ref = await report(stack, "concurrent-1")
    lead = unit(ref.lead_unit)
    commands = [stack.client.claim(ref.case_id, lead) for _ in range(10)] + [
        stack.client.dispute(ref.case_id, lead, f"退单 {i}") for i in range(10)
    ]
    results = await asyncio.gather(*commands, return_exceptions=True)
    accepted = [r for r in results if not isinstance(r, BaseException)]
    assert accepted, results
    assert all(isinstance(r, CommandRejected) for r in results if isinstance(r, BaseException))
    await assert_store_matches_workflow(stack, ref.case_id)


async def test_search_attributes_follow_the_case(stack: TestStack) -> None:
    ref = await report(stack, "search-1")
    await stack.client.claim(ref.case_id, unit(ref.lead_unit))
    described = await stack.env.client.get_workflow_handle(workflow_id_for(ref.case_id)).describe()
    attributes = {pair.key.name: pair.value for pair in described.typed_search_attributes}
    assert attributes["RectifyStatus"] == "claimed"
    assert attributes["RectifyLeadUnit"] == ref.lead_unit
    assert attributes["RectifyEscalationLevel"] == 0
    assert attributes["RectifyDueAt"] == ref.due_at


async def test_continue_as_new_carries_the_folded_state(stack: TestStack) -> None:
    client = RectifyClient(stack.env.client, stack.store, stack.city, stack.task_queue, continue_as_new_after=30)
    ref = await client.report(
        idempotency_key="can-1",
        category=territorial_category(stack.city),
        description="反复返工的案件",
        location=point_in(stack.city),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    lead = unit(ref.lead_unit)
    await client.claim(ref.case_id, lead)
    for i in range(5):
        await client.submit(ref.case_id, lead, [photo(str(i))])
        await client.verify(ref.case_id, INSPECTOR, passed=False)
    handle = stack.env.client.get_workflow_handle(workflow_id_for(ref.case_id))
    view = await client.get(ref.case_id)
    assert view.state.rework_count == 5
    described = await handle.describe()
    assert described.run_id != described.raw_description.workflow_execution_info.first_run_id  # it did continue
    await assert_store_matches_workflow(stack, ref.case_id)


async def stored_by_an_earlier_attempt(stack: TestStack, command: ClaimCase, minutes_ago: int) -> list:
    """What a workflow task that appended and then died left behind: the events, decided a while ago."""
    events = await stack.store.load(command.case_id)
    state = fold(events)
    decided = decide(state, command, state.updated_at + timedelta(minutes=minutes_ago), stack.city.policy)
    await stack.store.append(command.case_id, state.version, decided, fold(decided, state))
    return decided


async def test_a_command_whose_events_an_earlier_task_attempt_stored_takes_those_events(stack: TestStack) -> None:
    ref = await report(stack, "adopt-1")
    claim = ClaimCase(command_id=str(uuid.uuid4()), case_id=ref.case_id, actor=unit(ref.lead_unit))
    earlier = await stored_by_an_earlier_attempt(stack, claim, minutes_ago=1)
    with stack.env.auto_time_skipping_disabled():
        result = await stack.client.execute(claim)  # decided again now, later: the stored decision stands
    assert result.events == earlier
    assert [e.type for e in await stack.store.load(ref.case_id)].count("case_claimed") == 1
    await assert_store_matches_workflow(stack, ref.case_id)


async def test_another_commands_stored_events_are_folded_first_and_that_command_then_answers_with_them(
    stack: TestStack,
) -> None:
    ref = await report(stack, "adopt-2")
    first = ClaimCase(command_id=str(uuid.uuid4()), case_id=ref.case_id, actor=unit(ref.lead_unit))
    earlier = await stored_by_an_earlier_attempt(stack, first, minutes_ago=1)
    second = ClaimCase(command_id=str(uuid.uuid4()), case_id=ref.case_id, actor=unit(ref.lead_unit))
    with stack.env.auto_time_skipping_disabled():
        with pytest.raises(CommandRejected, match="wrong_status"):
            await stack.client.execute(second)  # the stored claim is folded in first: this one comes too late
        result = await stack.client.execute(first)  # and the first, arriving now, gets what was stored for it
    assert result.events == earlier
    await assert_store_matches_workflow(stack, ref.case_id)
