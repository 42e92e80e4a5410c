"""Races: two workers on one task queue, fifty commands at one case at once. Nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from temporalio.api.enums.v1 import EventType, PendingWorkflowTaskState

from rectify.client import CommandRejected
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Actor, Channel, Role
from rectify.store import locks
from rectify.worker import build_worker
from rectify.workflows.models import workflow_id_for
from tests.faults.support import assert_audit_verifies, output_on_failure, polling, task_identities, worker_process
from tests.scenario import REPORTER, point_in


async def report(stack: TestStack, key: str) -> tuple[str, str]:
    ref = await stack.client.report(
        idempotency_key=key,
        category="street_vending",
        description="占道经营",
        location=point_in(stack.city, "st_guanyinqiao"),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    return ref.case_id, ref.lead_unit


async def test_fifty_commands_at_once_on_one_case_with_two_workers_racing(pg: EmbeddedPostgres, tmp_path: Path) -> None:
    log = tmp_path / "worker-b.log"
    with output_on_failure(log):
        await race(pg, log)


async def race(pg: EmbeddedPostgres, log: Path) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        # Neither worker keeps a workflow cache, so there is no sticky queue: each workflow task of the case goes
        # to whichever of the two polls first, and replays the history there (with a cache, one keeps the case).
        await stack.worker.shutdown()
        second = worker_process(stack, log, "worker-b", cache=0)
        try:
            async with build_worker(
                stack.env.client, stack.store, stack.task_queue, identity="worker-a", max_cached_workflows=0
            ):
                await polling(stack.env.client, stack.task_queue, {"worker-a", "worker-b"})
                case_id, lead = await report(stack, "race-1")
                unit = Actor(unit_id=lead, role=Role.UNIT)
                reasons = [f"第{i}次申请延期" for i in range(25)]
                attempts = [stack.client.claim(case_id, unit) for _ in range(25)]
                attempts += [stack.client.request_extension(case_id, unit, 1, r) for r in reasons]
                outcomes = await asyncio.gather(*attempts, return_exceptions=True)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        assert second.returncode == 0, f"worker-b exited with {second.returncode}"
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, CommandRejected)]
        assert len(won) + len(refused) == 50, [o for o in outcomes if isinstance(o, BaseException)][:3]
        types = [e.type for e in await stack.store.load(case_id)]
        assert types.count("case_claimed") == 1  # one claim won, the other 24 were refused by the rules
        assert types.count("extension_requested") == 1  # one request pending at a time
        assert len(won) == 2 and {r.rule for r in refused} <= {"wrong_status"}, [(r.rule, str(r)) for r in refused][:4]
        ran = await task_identities(stack.env.client, case_id)
        assert set(ran) == {"worker-a", "worker-b"}, f"the case's workflow tasks ran on {sorted(set(ran))} only"
        await assert_audit_verifies(stack.store, stack.env.client, cases=1)


async def test_a_worker_killed_in_the_middle_of_an_append_is_replaced_and_the_events_land_once(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    with output_on_failure(tmp_path / "doomed.log"):
        await killed_in_an_append(pg, tmp_path / "doomed.log")


async def killed_in_an_append(pg: EmbeddedPostgres, log: Path) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        case_id, lead = await report(stack, "kill-1")
        await stack.worker.shutdown()  # from here on only the worker process below serves the queue
        doomed = worker_process(stack, log, "doomed")
        blocker = await stack.store.pool.acquire()
        try:
            await blocker.execute("SELECT pg_advisory_lock($1)", locks.POSITION)  # appends now wait at the lock
            claim = asyncio.create_task(stack.client.claim(case_id, Actor(unit_id=lead, role=Role.UNIT)))
            give_up = time.monotonic() + 30
            while not await stack.store.pool.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ):
                assert time.monotonic() < give_up, "the worker never reached the append"
                await asyncio.sleep(0.1)
            doomed.send_signal(signal.SIGKILL)  # in the middle of the append activity
            doomed.wait(10)
        finally:
            await blocker.execute("SELECT pg_advisory_unlock($1)", locks.POSITION)
            await stack.store.pool.release(blocker)
        async with build_worker(stack.env.client, stack.store, stack.task_queue, identity="replacement"):
            result = await asyncio.wait_for(claim, timeout=90)  # the task times out and runs again here
        assert result.state.status == "claimed"
        types = [e.type for e in await stack.store.load(case_id)]
        assert types.count("case_claimed") == 1
        ran = await task_identities(stack.env.client, case_id)
        assert ran[-1] == "replacement", ran  # the task the killed worker held finished here
        await assert_audit_verifies(stack.store, stack.env.client, cases=1)


async def test_a_worker_killed_holding_an_updates_workflow_task_is_replaced_and_the_claim_lands_once(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    with output_on_failure(tmp_path / "doomed.log"):
        await killed_holding_a_task(pg, tmp_path / "doomed.log")


async def killed_holding_a_task(pg: EmbeddedPostgres, log: Path) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        case_id, lead = await report(stack, "kill-2")
        await stack.worker.shutdown()  # from here on only the worker process below serves the queue
        doomed = worker_process(stack, log, "doomed")
        try:
            await polling(stack.env.client, stack.task_queue, {"doomed"})  # then freeze it with its polls open
            doomed.send_signal(signal.SIGSTOP)
            claim = asyncio.create_task(stack.client.claim(case_id, Actor(unit_id=lead, role=Role.UNIT)))
            handle = stack.env.client.get_workflow_handle(workflow_id_for(case_id))
            give_up = time.monotonic() + 30
            while True:  # the server hands the update's workflow task to the frozen worker's open poll
                description = await handle.describe()
                pending = description.raw_description.pending_workflow_task
                if pending.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED:
                    break
                assert time.monotonic() < give_up, "the update's workflow task never reached the worker"
                await asyncio.sleep(0.1)
        finally:
            doomed.send_signal(signal.SIGKILL)  # in the middle of the update's workflow task
            doomed.wait(10)
        assert not claim.done()
        async with build_worker(stack.env.client, stack.store, stack.task_queue, identity="replacement"):
            result = await asyncio.wait_for(claim, timeout=90)  # the task times out and runs here
        assert result.state.status == "claimed"
        history = await handle.fetch_history()
        timed_out = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT]
        assert timed_out, "the killed worker's workflow task should have timed out and run again"
        types = [e.type for e in await stack.store.load(case_id)]
        assert types.count("case_claimed") == 1
        ran = await task_identities(stack.env.client, case_id)
        assert ran[-1] == "replacement", ran  # the task the killed worker held finished here
        await assert_audit_verifies(stack.store, stack.env.client, cases=1)
