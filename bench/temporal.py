"""Intake and command latency against raw Temporal on the same dev server, in the same run.

Raw intake: a workflow that runs one trivial activity, started and awaited. Raw command: an update on
a workflow whose handler does nothing. Rectify's figures include routing, the decider, the append
(hash chain, read model, facts, outbox) and search attributes.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from temporalio.worker import Worker

from bench.common import concurrently
from bench.raw_workflows import BenchCommands, BenchIntake, noop
from rectify.city.sampling import inside_points
from rectify.devstack import TestStack
from rectify.domain.types import Actor, Channel, Role


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def _senders(stack: TestStack, raw_queue: str) -> tuple[Any, Any]:
    """One Rectify report, and one raw workflow with one activity: the two things intake compares."""
    points, tag = inside_points(stack.city), uuid.uuid4().hex[:6]

    async def report(i: int) -> None:
        await stack.client.report(
            idempotency_key=f"bench-{tag}-{i}",
            category="street_vending",
            description="占道经营",
            location=points[i % len(points)],
            channel=Channel.HOTLINE,
            actor=Actor(unit_id="citizen", role=Role.REPORTER),
        )

    async def raw_intake(i: int) -> None:
        await stack.env.client.execute_workflow(BenchIntake.run, id=f"raw-{tag}-{i}", task_queue=raw_queue)

    return report, raw_intake


async def run(pg: Any, n: int = 300, width: int = 16) -> list[dict]:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        client, temporal = stack.client, stack.env.client
        raw_queue = f"bench-raw-{uuid.uuid4().hex[:6]}"
        async with Worker(temporal, task_queue=raw_queue, workflows=[BenchIntake, BenchCommands], activities=[noop]):
            report, raw_intake = _senders(stack, raw_queue)
            tag = uuid.uuid4().hex[:6]
            raw_rate = await concurrently(n, width, raw_intake)
            rectify_rate = await concurrently(n, width, report)

            cases = [r.case_id for r in await client.list(limit=n)]
            rectify_ms: list[float] = []
            for case_id in cases[: min(len(cases), 150)]:
                row = await client.store.get_case(case_id)
                assert row is not None and row.lead_unit is not None, f"case {case_id} is listed, so it is stored"
                started = time.perf_counter()
                await client.claim(case_id, Actor(unit_id=row.lead_unit, role=Role.UNIT))
                rectify_ms.append((time.perf_counter() - started) * 1000)
            handle = await temporal.start_workflow(BenchCommands.run, id=f"raw-cmd-{tag}", task_queue=raw_queue)
            raw_ms: list[float] = []
            for _ in range(len(rectify_ms)):
                started = time.perf_counter()
                await handle.execute_update(BenchCommands.poke)
                raw_ms.append((time.perf_counter() - started) * 1000)
            await handle.signal(BenchCommands.finish)
    p50, raw50 = _pct(rectify_ms, 50), _pct(raw_ms, 50)
    p99, raw99 = _pct(rectify_ms, 99), _pct(raw_ms, 99)
    return [
        {
            "benchmark": f"intake ({n} reports, {width} at a time)",
            "unit": "reports/s",
            "measured": rectify_rate,
            "baseline": raw_rate,
            "baseline_name": "raw workflow + 1 activity",
            "ratio": rectify_rate / raw_rate,
            "target": 0.5,
        },
        {
            "benchmark": "claim latency p50",
            "unit": "ms",
            "measured": p50,
            "baseline": raw50,
            "baseline_name": "raw no-op update",
            "ratio": p50 / raw50,
            "target_max": 2.0,
        },
        {
            "benchmark": "claim latency p99",
            "unit": "ms",
            "measured": p99,
            "baseline": raw99,
            "baseline_name": "raw no-op update",
            "ratio": p99 / raw99,
        },
    ]


async def burst(pg: Any, n: int = 2000, width: int = 64) -> list[dict]:
    """One day's real load sent as fast as the client allows: until all are dispatched and stored."""
    async with TestStack(pg=pg, time_skipping=False) as stack:
        client, temporal = stack.client, stack.env.client
        raw_queue = f"bench-burst-{uuid.uuid4().hex[:6]}"
        async with Worker(temporal, task_queue=raw_queue, workflows=[BenchIntake], activities=[noop]):
            report, raw_intake = _senders(stack, raw_queue)
            raw_rate = await concurrently(n, width, raw_intake)
            rectify_rate = await concurrently(n, width, report)
            stored = await client.store.pool.fetchval("SELECT count(*) FROM cases")
    assert stored == n, f"{stored} of {n} reports stored"
    note = f"{n / rectify_rate:.0f} s for the day's load"
    return [
        {
            "benchmark": f"burst intake ({n} reports, {width} at a time)",
            "unit": "reports/s",
            "measured": rectify_rate,
            "baseline": raw_rate,
            "baseline_name": "raw workflow + 1 activity",
            "ratio": rectify_rate / raw_rate,
            "target": 0.5,
            "note": note,
        }
    ]
