"""Catch-up after worker downtime, on the real dev server in real time: every overdue step fires once, in order.

The time-skipping server cannot show this (a timer that fires with no worker stalls its skipping), so
the policy here runs round the clock with limits of seconds, and the worker is really stopped.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rectify.client import RectifyClient
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel
from rectify.worker import build_worker
from tests.support.faults import assert_audit_verifies
from tests.support.scenario import REPORTER, point_in, round_the_clock


async def test_a_worker_down_past_every_rung_fires_each_once_in_order_when_it_returns(pg: EmbeddedPostgres) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        city = replace(stack.city, policy=round_the_clock(stack.city.policy))
        client = RectifyClient(stack.env.client, stack.store, city, stack.task_queue)
        ref = await client.report(
            idempotency_key="outage-1",
            category="street_vending",
            description="占道经营",
            location=point_in(city, "st_guanyinqiao"),
            channel=Channel.HOTLINE,
            actor=REPORTER,
        )
        await stack.worker.shutdown()
        await asyncio.sleep(16)  # claim (2 s), rectification (6 s) and all four rungs (6-12 s) fall due meanwhile
        back_at = datetime.now(UTC)
        async with build_worker(stack.env.client, stack.store, stack.task_queue):
            give_up = time.monotonic() + 60
            while not any(e.type == "escalation_raised" and e.level == 4 for e in await stack.store.load(ref.case_id)):
                assert time.monotonic() < give_up, "the returning worker did not catch up within 60 s"
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # and nothing fires twice afterwards
            events = await stack.store.load(ref.case_id)
        await assert_audit_verifies(stack.store, stack.env.client, cases=1)
    fired = [e for e in events if e.type in ("deadline_missed", "escalation_raised")]
    assert [(e.type, getattr(e, "stage", None), getattr(e, "level", None)) for e in fired] == [
        ("deadline_missed", "claim", None),
        ("deadline_missed", "rectify", None),
        ("escalation_raised", None, 1),
        ("escalation_raised", None, 2),
        ("escalation_raised", None, 3),
        ("escalation_raised", None, 4),
    ]
    assert [e.due_at for e in fired] == sorted(e.due_at for e in fired)
    assert all(e.due_at < back_at - timedelta(seconds=2) for e in fired)  # every one was overdue …
    assert all(e.occurred_at >= back_at for e in fired)  # … and fired after the worker came back
    assert len({e.causation_id for e in fired}) == 1  # in one tick
