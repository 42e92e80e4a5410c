"""Timers at scale on the real dev server: many open cases whose deadlines and rungs fall due in real time.

A test policy runs round the clock with limits of minutes, so each case's claim deadline, rectification
deadline and rungs fall due within a few minutes of its report; reports go in as fast as the client
allows, which spreads the due moments over the intake. Lateness = when the event was recorded as
happening minus when it was due. Baseline: raw workflows sleeping until the same moments.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import psutil
from temporalio.worker import Worker

from bench.common import concurrently
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
    calendar = WorkingCalendar(periods=(WorkingPeriod(start=time(0), end=time(23, 59, 59, 999999)),),
                               known_years=frozenset({now.year, now.year + 1}))  # fmt: skip
    categories = {k: v.model_copy(update={"rectify_limit_hours": 2 * MINUTE}) for k, v in policy.categories.items()}
    ladder = tuple(Rung(level=r.level, name=r.name, after_hours=MINUTE * i / 2, points=r.points)
                   for i, r in enumerate(policy.ladder))  # fmt: skip
    return policy.model_copy(update={"calendar": calendar, "categories": categories, "ladder": ladder,
                                     "stages": StageLimits(dispatch_hours=MINUTE, claim_hours=MINUTE)})  # fmt: skip


def _rss(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += psutil.Process(pid).memory_info().rss
    return total / (1024 * 1024)


async def run(pg: Any, n: int = 1000, width: int = 32) -> list[dict]:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        city = replace(stack.city, policy=minutes_policy(stack.city.policy))
        client = RectifyClient(stack.env.client, stack.store, city, stack.task_queue)
        points, tag = inside_points(city), uuid.uuid4().hex[:6]

        async def report(i: int) -> None:
            await client.report(idempotency_key=f"timers-{tag}-{i}", category="street_vending",
                                description="占道经营", location=points[i % len(points)], channel=Channel.HOTLINE,
                                actor=Actor(unit_id="citizen", role=Role.REPORTER))  # fmt: skip

        started = datetime.now(UTC)
        await concurrently(n, width, report)
        # Every case has 5 timed events (claim and rectify missed, rungs 1-4 at 0, 0.5, 1, 1.5 min past it).
        expected = n * 6
        give_up = datetime.now(UTC) + timedelta(minutes=10)
        while await stack.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE type IN ('deadline_missed', 'escalation_raised')"
        ) < expected and datetime.now(UTC) < give_up:
            await asyncio.sleep(1)
        rows = await stack.store.pool.fetch(
            """SELECT (body->>'due_at')::timestamptz AS due, occurred_at FROM events
               WHERE type IN ('deadline_missed', 'escalation_raised')"""
        )
        late = sorted((r["occurred_at"] - r["due"]).total_seconds() for r in rows)
        dues = sorted({r["due"] for r in rows})
        server = [p.pid for p in psutil.Process().children(recursive=True) if "temporal" in " ".join(p.cmdline())]
        rss_worker, rss_server = _rss([psutil.Process().pid]), _rss(server)
        # The raw baseline: the same due moments, one sleeping workflow per case.
        by_case: dict[int, list[str]] = {}
        for i, due in enumerate(dues):
            by_case.setdefault(i % n, []).append(due.isoformat())
        raw_queue = f"bench-timers-{tag}"
        now = datetime.now(UTC)
        shift = now - started + timedelta(seconds=30)  # the same spread, replayed from now on
        async with Worker(stack.env.client, task_queue=raw_queue, workflows=[BenchTimer]):
            handles = [await stack.env.client.start_workflow(
                BenchTimer.run, [(datetime.fromisoformat(d) + shift).isoformat() for d in due_list],
                id=f"timer-{tag}-{i}", task_queue=raw_queue) for i, due_list in by_case.items()]  # fmt: skip
            results = await asyncio.gather(*(h.result() for h in handles))
            raw = sorted(x for lateness in results for x in lateness)
    p50, p99 = statistics.median(late), late[int(0.99 * (len(late) - 1))]
    r50, r99 = statistics.median(raw), raw[int(0.99 * (len(raw) - 1))]
    spread = (dues[-1] - dues[0]).total_seconds() if dues else 0
    note = (f"{len(late)} timed events over {spread:.0f} s; p50 {p50:.2f} s (raw {r50:.2f} s); worker "
            f"{rss_worker:.0f} MiB, server {rss_server:.0f} MiB")  # fmt: skip
    return [{"benchmark": f"timers: {n} live cases, rung lateness p99", "unit": "s", "measured": p99,
             "baseline": r99, "baseline_name": "raw sleeping workflows", "ratio": p99 / max(r99, 0.001),
             "target_max": (1.5 * r99 + 1) / max(r99, 0.001), "note": note, "audit_ok": rss_worker < 500}]  # fmt: skip
