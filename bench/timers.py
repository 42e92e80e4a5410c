"""Timers at scale on the real dev server: many open cases whose deadlines and rungs fall due in real time.

A test policy runs round the clock with limits of minutes, so each case's claim deadline, rectification
deadline and rungs fall due within a few minutes of its report. Reports are paced evenly over a window
(10 minutes for the issue's 10,000 cases), so the due moments are spread evenly too. The cases are
served by worker processes of their own (`python -m rectify.worker`, as in production), whose resident
memory is sampled throughout. Lateness = when the event was recorded as happening minus when it was due.
Baseline: raw workflows sleeping until the same moments, afterwards, on the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time as clock
import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import psutil
from temporalio.worker import Worker

from bench.raw_workflows import BenchTimer
from rectify.city.sampling import inside_points
from rectify.client import RectifyClient
from rectify.devstack import TestStack
from rectify.domain.calendar import WorkingCalendar, WorkingPeriod
from rectify.domain.policy import Policy, Rung, StageLimits
from rectify.domain.types import Actor, Channel, Role

MINUTE = 1 / 60  # hours


def minutes_policy(policy: Policy) -> Policy:
    now = datetime.now(UTC)
    calendar = WorkingCalendar(
        periods=(WorkingPeriod(start=time(0), end=time(23, 59, 59, 999999)),),
        known_years=frozenset({now.year, now.year + 1}),
    )
    categories = {k: v.model_copy(update={"rectify_limit_hours": 2 * MINUTE}) for k, v in policy.categories.items()}
    ladder = tuple(
        Rung(level=r.level, name=r.name, after_hours=MINUTE * i / 2, points=r.points)
        for i, r in enumerate(policy.ladder)
    )
    return policy.model_copy(
        update={
            "calendar": calendar,
            "categories": categories,
            "ladder": ladder,
            "stages": StageLimits(dispatch_hours=MINUTE, claim_hours=MINUTE),
        }
    )


def _rss(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += psutil.Process(pid).memory_info().rss
    return total / (1024 * 1024)


def worker_processes(stack: TestStack, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, **stack.worker_environment()}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "rectify.worker"], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        for _ in range(count)
    ]


async def run(pg: Any, n: int = 1000, window: float = 300, workers: int = 1) -> list[dict]:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        await stack.worker.shutdown()  # the cases run on worker processes of their own, as in production
        procs = worker_processes(stack, workers)
        peak = {"rss": 0.0}

        async def sample() -> None:
            while True:
                peak["rss"] = max(peak["rss"], max(_rss([p.pid]) for p in procs))
                await asyncio.sleep(1)

        sampler = asyncio.create_task(sample())
        try:
            late, dues, started, rss_server = await _rectify(stack, n, window)
        finally:
            sampler.cancel()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
        raw = await _raw(stack, n, dues, started)
    p50, p99 = statistics.median(late), late[int(0.99 * (len(late) - 1))]
    r50, r99 = statistics.median(raw), raw[int(0.99 * (len(raw) - 1))]
    spread = (dues[-1] - dues[0]).total_seconds() if dues else 0
    processes = f"{workers} worker process{'es' if workers > 1 else ''}"
    note = (
        f"{len(late)} timed events over {spread:.0f} s; p50 {p50:.2f} s (raw {r50:.2f} s); {processes}, "
        f"peak {peak['rss']:.0f} MiB each at most; server {rss_server:.0f} MiB"
    )
    return [
        {
            "benchmark": f"timers: {n:,} live cases over {window / 60:g} min, rung lateness p99",
            "unit": "s",
            "measured": p99,
            "baseline": r99,
            "baseline_name": "raw sleeping workflows",
            "ratio": p99 / max(r99, 0.001),
            "target_max": (1.5 * r99 + 1) / max(r99, 0.001),
            "note": note,
            "worker_rss_mib": peak["rss"],
            "audit_ok": peak["rss"] < 500,
        }
    ]


async def _rectify(stack: TestStack, n: int, window: float) -> tuple[list[float], list[datetime], datetime, float]:
    city = replace(stack.city, policy=minutes_policy(stack.city.policy))
    client = RectifyClient(stack.env.client, stack.store, city, stack.task_queue)
    points, tag = inside_points(city), uuid.uuid4().hex[:6]

    # At most this many reports wait for their workflow at once: a worker that falls behind slows the
    # intake (and the due moments follow the real report times) instead of piling up long polls.
    outstanding = asyncio.Semaphore(64)

    async def report(i: int) -> None:
        await asyncio.sleep(max(0.0, begin + i * window / n - clock.monotonic()))  # evenly over the window
        async with outstanding:
            await client.report(
                idempotency_key=f"timers-{tag}-{i}",
                category="street_vending",
                description="占道经营",
                location=points[i % len(points)],
                channel=Channel.HOTLINE,
                actor=Actor(unit_id="citizen", role=Role.REPORTER),
            )

    started, begin = datetime.now(UTC), clock.monotonic()
    await asyncio.gather(*(report(i) for i in range(n)))
    # Every case has 6 timed events (claim and rectify missed, rungs 1-4 at 0, 0.5, 1, 1.5 min past it).
    expected = n * 6
    give_up = datetime.now(UTC) + timedelta(minutes=10)
    while (
        await stack.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE type IN ('deadline_missed', 'escalation_raised')"
        )
        < expected
        and datetime.now(UTC) < give_up
    ):
        await asyncio.sleep(1)
    rows = await stack.store.pool.fetch(
        """SELECT (body->>'due_at')::timestamptz AS due, occurred_at FROM events
           WHERE type IN ('deadline_missed', 'escalation_raised')"""
    )
    late = sorted((r["occurred_at"] - r["due"]).total_seconds() for r in rows)
    server = [p.pid for p in psutil.Process().children(recursive=True) if "temporal" in " ".join(p.cmdline())]
    return late, sorted(r["due"] for r in rows), started, _rss(server)


async def _raw(stack: TestStack, n: int, dues: list[datetime], started: datetime) -> list[float]:
    """The same due moments, shifted to start from now, each case's moments in one sleeping workflow."""
    by_case: dict[int, list[str]] = {}
    shift = datetime.now(UTC) - started + timedelta(seconds=30)
    for i, due in enumerate(dues):
        by_case.setdefault(i % n, []).append((due + shift).isoformat())
    raw_queue = f"bench-timers-{uuid.uuid4().hex[:6]}"
    async with Worker(stack.env.client, task_queue=raw_queue, workflows=[BenchTimer]):
        start = stack.env.client.start_workflow
        handles = [
            await start(BenchTimer.run, due_list, id=f"{raw_queue}-{i}", task_queue=raw_queue)
            for i, due_list in by_case.items()
        ]
        results = await asyncio.gather(*(h.result() for h in handles))
    return sorted(x for lateness in results for x in lateness)
