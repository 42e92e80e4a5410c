"""Deadlines and the ladder 一整改、二曝光、三扣分、四问责 on the time-skipping server: days pass in milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.events import Event
from rectify.domain.types import Channel
from rectify.workflows.models import workflow_id_for
from tests.support.scenario import DISPATCHER, INSPECTOR, REPORTER, photo, point_in, unit

FORTNIGHT = timedelta(days=14)


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def report_case(stack: TestStack, key: str) -> tuple[str, str]:
    ref = await stack.client.report(
        idempotency_key=key,
        category="street_vending",  # 2 working hours
        description="占道经营",
        location=point_in(stack.city, "st_guanyinqiao"),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    return ref.case_id, ref.lead_unit


async def events_of(stack: TestStack, case_id: str, *types: str) -> list[Event]:
    return [e for e in await stack.store.load(case_id) if not types or e.type in types]


def rectify_due(events: list[Event]) -> object:
    return [e for e in events if e.type == "deadline_set" and e.stage == "rectify"][-1].due_at


async def level_in_temporal(stack: TestStack, case_id: str) -> int:
    described = await stack.env.client.get_workflow_handle(workflow_id_for(case_id)).describe()
    return {p.key.name: p.value for p in described.typed_search_attributes}["RectifyEscalationLevel"]


async def test_each_rung_fires_at_its_exact_working_time(stack: TestStack) -> None:
    case_id, _ = await report_case(stack, "ladder-1")
    await stack.env.sleep(FORTNIGHT)
    events = await events_of(stack, case_id)
    due = rectify_due(events)
    calendar = stack.city.policy.calendar
    rungs = [e for e in events if e.type == "escalation_raised"]
    assert [(r.level, r.rung) for r in rungs] == [(1, "催办"), (2, "曝光"), (3, "扣分"), (4, "问责")]
    for rung, hours in zip(rungs, (0, 7, 21, 35), strict=True):
        assert rung.due_at == calendar.add_working_time(due, timedelta(hours=hours))
        assert abs(rung.occurred_at - rung.due_at) < timedelta(seconds=1)  # fired on time, not at the next poll
    assert rungs[2].points == 2.0 and rungs[3].responsible_role  # 扣分 deducts points; 问责 names the post
    missed = [e.stage for e in events if e.type == "deadline_missed"]
    assert missed == ["claim", "rectify"]
    assert await level_in_temporal(stack, case_id) == 4


async def test_rungs_stop_when_the_unit_submits_and_the_level_drops_on_close(stack: TestStack) -> None:
    case_id, lead = await report_case(stack, "ladder-2")
    await stack.client.claim(case_id, unit(lead))
    due = rectify_due(await events_of(stack, case_id))
    calendar = stack.city.policy.calendar
    now = await stack.env.get_current_time()
    until_rung_2 = calendar.add_working_time(due, timedelta(hours=8)) - now  # past rung 2, before rung 3
    await stack.env.sleep(until_rung_2)
    assert [e.level for e in await events_of(stack, case_id, "escalation_raised")] == [1, 2]
    assert await level_in_temporal(stack, case_id) == 2
    await stack.client.submit(case_id, unit(lead), [photo()])
    await stack.env.sleep(FORTNIGHT)
    assert [e.level for e in await events_of(stack, case_id, "escalation_raised")] == [1, 2]
    await stack.client.verify(case_id, INSPECTOR, passed=True)
    assert await level_in_temporal(stack, case_id) == 0


async def test_no_rung_fires_after_the_case_is_closed(stack: TestStack) -> None:
    case_id, lead = await report_case(stack, "ladder-3")
    await stack.client.claim(case_id, unit(lead))
    await stack.client.submit(case_id, unit(lead), [photo()])
    await stack.client.verify(case_id, INSPECTOR, passed=True)
    await stack.env.sleep(FORTNIGHT)
    assert await events_of(stack, case_id, "escalation_raised") == []
    missed = await events_of(stack, case_id, "deadline_missed")
    assert [e.stage for e in missed] == ["feedback"]  # nobody called the reporter back (回访)


async def test_rework_restarts_the_ladder_from_the_new_deadline(stack: TestStack) -> None:
    case_id, lead = await report_case(stack, "ladder-4")
    await stack.client.claim(case_id, unit(lead))
    await stack.client.submit(case_id, unit(lead), [photo()])
    await stack.client.verify(case_id, INSPECTOR, passed=False)
    events = await events_of(stack, case_id)
    new_due = rectify_due(events)
    await stack.env.sleep(FORTNIGHT)
    rungs = await events_of(stack, case_id, "escalation_raised")
    assert [r.level for r in rungs] == [1, 2, 3, 4] and rungs[0].due_at == new_due


async def test_an_extension_moves_the_deadline_and_the_ladder(stack: TestStack) -> None:
    case_id, lead = await report_case(stack, "ladder-5")
    await stack.client.claim(case_id, unit(lead))
    old_due = rectify_due(await events_of(stack, case_id))
    await stack.client.request_extension(case_id, unit(lead), 2, "需协调城管执法")
    await stack.client.decide_extension(case_id, DISPATCHER, True, "同意延期")
    events = await events_of(stack, case_id)
    new_due = rectify_due(events)
    calendar = stack.city.policy.calendar
    assert new_due == calendar.add_working_time(old_due, timedelta(hours=2))
    await stack.env.sleep(FORTNIGHT)
    rungs = await events_of(stack, case_id, "escalation_raised")
    assert rungs[0].due_at == new_due


async def test_suspension_pauses_every_clock_and_resumption_keeps_the_remaining_time(stack: TestStack) -> None:
    case_id, lead = await report_case(stack, "ladder-6")
    await stack.client.claim(case_id, unit(lead))
    due = rectify_due(await events_of(stack, case_id))
    calendar = stack.city.policy.calendar
    await stack.client.request_suspension(case_id, unit(lead), "现场被围挡施工封闭")
    await stack.client.decide_suspension(case_id, DISPATCHER, True, "同意挂起")
    suspended_at = (await events_of(stack, case_id, "case_suspended"))[0].occurred_at
    await stack.env.sleep(FORTNIGHT)
    assert await events_of(stack, case_id, "escalation_raised", "deadline_missed") == []
    result = await stack.client.resume(case_id, DISPATCHER, "围挡已拆除")
    resumed_at = result.events[0].occurred_at
    remaining = calendar.working_time_between(suspended_at, due)
    assert result.state.due_at == calendar.add_working_time(
        due, calendar.working_time_between(suspended_at, resumed_at)
    )
    assert calendar.working_time_between(resumed_at, result.state.due_at) == remaining
    await stack.env.sleep(FORTNIGHT)
    assert [e.level for e in await events_of(stack, case_id, "escalation_raised")] == [1, 2, 3, 4]


async def test_every_rung_reaches_the_lead_units_inbox_once(stack: TestStack) -> None:
    case_id, lead = await report_case(stack, "outbox-1")
    await stack.env.sleep(FORTNIGHT)
    inbox = await stack.store.inbox(lead, limit=100)
    kinds = [n["kind"] for n in inbox if n["case_id"] == case_id]
    assert kinds.count("escalation_raised") == 4 and kinds.count("case_dispatched") == 1
    assert any("问责（第4级）" in n["text"] for n in inbox)
    assert any("扣2分" in n["text"] for n in inbox)
    assert await stack.store.undelivered() == 0
    assert await stack.store.deliver_outbox(case_id) == 0  # delivered ones are not sent again


async def test_the_outbox_is_written_with_the_events_and_redelivered_until_recorded(stack: TestStack) -> None:
    case_id, lead = await report_case(stack, "outbox-2")
    rows = await stack.store.pool.fetch("SELECT * FROM outbox WHERE case_id = $1", case_id)
    assert [r["recipient"] for r in rows] == [lead]  # written in the append's transaction
    for _ in range(100):  # delivery follows the command asynchronously
        if await stack.store.undelivered() == 0:
            break
        await asyncio.sleep(0.05)
    assert await stack.store.undelivered() == 0
    await stack.store.pool.execute("UPDATE outbox SET delivered_at = NULL WHERE case_id = $1", case_id)
    calls: list[str] = []

    async def failing(notification: dict) -> None:
        calls.append(notification["notification_id"])
        raise ConnectionError("gateway down")

    with pytest.raises(ConnectionError):
        await stack.store.deliver_outbox(case_id, failing)
    assert await stack.store.undelivered() == 1  # not recorded as delivered: it will be sent again
    assert await stack.store.deliver_outbox(case_id) == 1
    assert await stack.store.undelivered() == 0 and len(calls) == 1
