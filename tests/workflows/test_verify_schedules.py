"""The audit's Schedules on the dev server: hourly the incremental verify, weekly the full one, each chaining a
verified checkpoint; a run that finds a discrepancy fails, names it, and records nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.checkpoints import Checkpoint
from rectify.domain.types import Channel
from rectify.store.checkpoints import checkpoints
from rectify.workflows.schedules import (
    CHECKPOINT_SCHEDULE_ID,
    FULL_VERIFY_SCHEDULE_ID,
    ensure_checkpoint_schedule,
    ensure_full_verify_schedule,
)
from tests.support.audit import as_superuser
from tests.support.scenario import REPORTER, point_in


async def _until(check: Callable[[], Awaitable[Any]], what: str, patience: float = 60) -> Any:
    give_up = time.monotonic() + patience
    while not (found := await check()):
        assert time.monotonic() < give_up, what
        await asyncio.sleep(0.2)
    return found


async def test_hourly_and_weekly_verifies_chain_verified_checkpoints_and_a_discrepancy_fails_the_run(
    pg: EmbeddedPostgres,
) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:

        async def report(key: str, category: str) -> None:  # a category each, so none is a duplicate
            await stack.client.report(
                idempotency_key=key,
                category=category,
                description="占道经营",
                location=point_in(stack.city, "st_guanyinqiao"),
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )

        async def taken(n: int) -> list[Checkpoint]:
            return await _until(lambda: _at_least(stack, n), f"no checkpoint {n} recorded")

        client = stack.env.client
        assert await ensure_checkpoint_schedule(client, stack.task_queue, timedelta(hours=1))
        assert await ensure_full_verify_schedule(client, stack.task_queue, stack.city.policy.timezone)
        assert await ensure_full_verify_schedule(client, stack.task_queue, stack.city.policy.timezone)  # there: fine
        hourly, weekly = (
            client.get_schedule_handle(CHECKPOINT_SCHEDULE_ID),
            client.get_schedule_handle(FULL_VERIFY_SCHEDULE_ID),
        )
        [sunday] = (await weekly.describe()).schedule.spec.calendars
        assert ([r.start for r in sunday.day_of_week], [r.start for r in sunday.hour]) == ([0], [3])
        try:
            await report("verify-1", "street_vending")
            await hourly.trigger()  # no verified checkpoint yet: the first hourly run verifies in full
            [first] = await taken(1)
            assert (first.verified, first.cases, first.position) == ("full", 1, 5)

            await report("verify-2", "disorderly_parking")
            await hourly.trigger()
            second = (await taken(2))[-1]
            assert (second.verified, second.cases, second.position) == ("incremental", 2, 10)
            assert second.prev_hash == first.hash and second.hash == second.expected_hash()

            await weekly.trigger()
            third = (await taken(3))[-1]
            assert (third.verified, third.position) == ("full", 10)

            await report("verify-3", "posters_graffiti")
            await as_superuser(
                stack.store,
                "UPDATE events SET body = jsonb_set(body, '{description}', '\"改过\"') WHERE position = 11",
            )
            await hourly.trigger()
            [error] = await _until(lambda: _failures(stack), "the verify that met a changed event did not fail")
            assert error == "AuditDiscrepancies: the incremental verify found 1 discrepancy"
            assert len(await checkpoints(stack.store.pool)) == 3  # nothing recorded over it
        finally:
            await hourly.delete()
            await weekly.delete()


async def _at_least(stack: TestStack, n: int) -> list[Checkpoint] | None:
    taken = await checkpoints(stack.store.pool)
    return taken if len(taken) >= n else None


async def _failures(stack: TestStack) -> list[str]:
    """Why each VerifyWorkflow run that failed failed (visibility on the dev server lags a moment)."""
    client, errors = stack.env.client, []
    async for run in client.list_workflows("WorkflowType = 'VerifyWorkflow'"):
        if run.status == WorkflowExecutionStatus.FAILED:
            try:
                await client.get_workflow_handle(run.id, run_id=run.run_id).result()
            except WorkflowFailureError as error:
                errors.append(str(error.cause))
    return errors
