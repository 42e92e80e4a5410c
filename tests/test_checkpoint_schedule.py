"""The checkpoint Schedule: created on the dev server and producing a checkpoint; refused politely elsewhere."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel
from rectify.store.checkpoints import checkpoints
from rectify.workflows.schedules import CHECKPOINT_SCHEDULE_ID, ensure_checkpoint_schedule
from tests.scenario import REPORTER, point_in


async def test_the_schedule_records_a_checkpoint_over_every_case_when_triggered(pg: EmbeddedPostgres) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        await stack.client.report(
            idempotency_key="cp-1",
            category="street_vending",
            description="占道经营",
            location=point_in(stack.city, "st_guanyinqiao"),
            channel=Channel.HOTLINE,
            actor=REPORTER,
        )
        client = stack.env.client
        assert await ensure_checkpoint_schedule(client, stack.task_queue, timedelta(hours=1))
        assert await ensure_checkpoint_schedule(client, stack.task_queue, timedelta(hours=1))  # already there: fine
        handle = client.get_schedule_handle(CHECKPOINT_SCHEDULE_ID)
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
        await handle.trigger()
        give_up = time.monotonic() + 30
        while not (taken := await checkpoints(stack.store.pool)):
            assert time.monotonic() < give_up, "the triggered schedule recorded no checkpoint"
            await asyncio.sleep(0.2)
        [cp] = taken
        assert (cp.number, cp.cases) == (1, 1) and cp.position == 5 and cp.hash == cp.expected_hash()
        await handle.delete()


async def test_the_time_skipping_server_has_no_schedules_and_that_is_reported_not_raised(pg: EmbeddedPostgres) -> None:
    async with TestStack(pg=pg) as stack:
        assert await ensure_checkpoint_schedule(stack.env.client, stack.task_queue, timedelta(hours=1)) is False
