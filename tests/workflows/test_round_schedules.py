"""The Schedules planning rounds, on the dev server (the time-skipping server has no Schedules): every day each task
group's team round, every Monday the duty leader's round, each started as its own RoundWorkflow; a Schedule that
fires twice the same day starts no second round."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.inspection import duty_leader
from rectify.store import inspections
from rectify.workflows.schedules import DUTY_ROUND_SCHEDULE_ID, TEAM_ROUNDS_SCHEDULE_ID, ensure_round_schedules


async def _until(check: Callable[[], Awaitable[Any]], what: str, patience: float = 60) -> Any:
    give_up = time.monotonic() + patience
    while not (found := await check()):
        assert time.monotonic() < give_up, what
        await asyncio.sleep(0.2)
    return found


async def test_the_schedules_plan_daily_team_rounds_and_the_duty_leaders_weekly_round(pg: EmbeddedPostgres) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        client, city = stack.env.client, stack.city
        assert await ensure_round_schedules(client, stack.task_queue, city.policy.timezone)
        assert await ensure_round_schedules(client, stack.task_queue, city.policy.timezone)  # there already: fine
        team, duty = (
            client.get_schedule_handle(TEAM_ROUNDS_SCHEDULE_ID),
            client.get_schedule_handle(DUTY_ROUND_SCHEDULE_ID),
        )
        try:
            [daily] = (await team.describe()).schedule.spec.calendars
            assert [(r.start, r.end) for r in daily.day_of_week] == [(0, 6)] and [r.start for r in daily.hour] == [8]
            [monday] = (await duty.describe()).schedule.spec.calendars
            assert [r.start for r in monday.day_of_week] == [1] and [r.start for r in monday.hour] == [9]

            groups = {p.task_group for p in city.points.values()}
            await team.trigger()
            rows = await _until(lambda: _rounds(stack, "team", len(groups)), "the team rounds were not planned")
            assert {r.task_group for r in rows} == groups and all(r.inspector_unit == "office_inspection" for r in rows)
            today = datetime.now(UTC).astimezone(ZoneInfo(city.policy.timezone)).date()
            assert {r.round_id for r in rows} == {f"team-{g}-{today:%Y%m%d}" for g in groups}
            most = city.policy.inspection.rounds.team_round_points
            for row in rows:  # each group's own points, as many as a team walks a day, due the policy's hours later
                state = await inspections.round_state(stack.store.pool, row.round_id)
                assert state is not None
                group = sorted(p.point_id for p in city.points.values() if p.task_group == row.task_group)
                assert [p.point_id for p in state.points] == group[:most]  # none checked yet: the first by id
                hours = (state.due_at - state.planned_at).total_seconds() / 3600  # planned a moment after the start
                assert abs(hours - city.policy.inspection.rounds.team_round_hours) < 0.01

            await duty.trigger()
            [leaders] = await _until(lambda: _rounds(stack, "duty", 1), "the duty round was not planned")
            on_duty = duty_leader(city.policy.inspection, today)
            assert on_duty is not None and leaders.leader == on_duty.id
            assert leaders.points == sum(1 for p in city.points.values() if p.leader == on_duty.id)

            await team.trigger()  # the same day again: the same rounds, none twice
            await _until(lambda: _planner_runs(stack, 2), "the second team run did not finish")
            assert len(await inspections.round_rows(stack.store.pool)) == len(groups) + 1
        finally:
            await team.delete()
            await duty.delete()


async def _rounds(stack: TestStack, kind: str, n: int) -> list | None:
    rows = [r for r in await inspections.round_rows(stack.store.pool) if r.kind == kind]
    return rows if len(rows) >= n else None


async def _planner_runs(stack: TestStack, n: int) -> bool:
    done = 0
    async for run in stack.env.client.list_workflows("WorkflowType = 'RoundPlannerWorkflow'"):
        if (
            run.status is not None
            and run.status.name == "COMPLETED"
            and run.id.startswith("rectify-round-planner-team")
        ):
            done += 1
    return done >= n
