"""Timers as a curve: rung lateness at growing numbers of live cases, on one and on two worker processes.

A test policy runs round the clock with limits of minutes: each case's claim deadline, rectification deadline
and four rungs fall due 1 to 3.5 "minutes" after its report (6 timed events; a minute is 60 s by default, less
with --quick). For each size N, N reports are paced evenly over a window as long as a case's life, so about N
cases are live (reported, with timers pending) at the peak; the peak is measured, not assumed. Each point runs
on a fresh dev server and database, with its cases served by worker processes of their own (`python -m
rectify.worker`, as in production), whose resident memory is sampled every second. Afterwards the point's store
is audited (`audit_ok`).

Lateness = when the event was recorded as happening (its `occurred_at`, the workflow's clock when it woke)
minus when it was due. An event that had not fired when the point gave up counts at its lateness so far (a
lower bound), and the point says how many.

Baseline, at each size: raw workflows (`BenchTimer`) started at the same pace, each sleeping until its case's
same 6 moments, on a fresh server, with one in-process worker.
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

from bench import interrupt
from bench.raw_workflows import BenchTimer
from bench.results import Target, row
from bench.temporal import percentile, spots
from rectify.audit.verify import verify
from rectify.city.sampling import inside_points
from rectify.client import RectifyClient
from rectify.devstack import TestStack
from rectify.domain import commands as c
from rectify.domain.calendar import WorkingCalendar, WorkingPeriod
from rectify.domain.decider import case_id_for, decide
from rectify.domain.escalation import next_due
from rectify.domain.policy import Policy, Rung, StageLimits
from rectify.domain.state import evolve, fold
from rectify.domain.types import SYSTEM_ACTOR, Actor, Channel, Role

TIMED = ("deadline_missed", "escalation_raised")
#: The size and worker count the issue's target is set at.
TARGET_SIZE, TARGET_WORKERS = 2000, 2


def minutes_policy(policy: Policy, minute_s: float = 60) -> Policy:
    """Round the clock, a minute to claim, two to rectify, rungs half a minute apart (a minute = minute_s)."""
    minute = minute_s / 3600  # hours
    now = datetime.now(UTC)
    calendar = WorkingCalendar(
        periods=(WorkingPeriod(start=time(0), end=time(23, 59, 59, 999999)),),
        known_years=frozenset({now.year, now.year + 1}),
    )
    categories = {k: v.model_copy(update={"rectify_limit_hours": 2 * minute}) for k, v in policy.categories.items()}
    ladder = tuple(
        Rung(level=r.level, name=r.name, after_hours=minute * i / 2, points=r.points)
        for i, r in enumerate(policy.ladder)
    )
    return policy.model_copy(
        update={
            "calendar": calendar,
            "categories": categories,
            "ladder": ladder,
            "stages": StageLimits(dispatch_hours=minute, claim_hours=minute),
        }
    )


def due_offsets(city: Any, policy: Policy) -> list[float]:
    """Seconds after its report at which each timed event of a case falls due, from the decider itself."""
    point = inside_points(city)[0]
    at = datetime.now(UTC)
    report = c.ReportCase(
        command_id=str(uuid.uuid4()),
        case_id=case_id_for("timers-offsets"),
        actor=Actor(unit_id="citizen", role=Role.REPORTER),
        idempotency_key="timers-offsets",
        category="street_vending",
        description="占道经营",
        location=point,
        channel=Channel.HOTLINE,
        routing=city.router.route("street_vending", point),
    )
    state = fold(decide(None, report, at, policy))
    assert state is not None  # a report opens the case
    offsets: list[float] = []
    while (due := next_due(state, policy)) is not None:
        tick = c.Tick(command_id=str(uuid.uuid4()), case_id=state.case_id, actor=SYSTEM_ACTOR)
        for event in decide(state, tick, due, policy):
            state = evolve(state, event)
            if event.type in TIMED:
                offsets.append((due - at).total_seconds())
    return offsets


def peak_live(spans: list[tuple[datetime, datetime]]) -> int:
    """The most spans (report, last timer) open at one moment."""
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    live = peak = 0
    for _, step in edges:
        live += step
        peak = max(peak, live)
    return peak


def _rss(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += psutil.Process(pid).memory_info().rss
    return total / 2**20


def _workers(stack: TestStack, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, **stack.worker_environment()}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "rectify.worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(count)
    ]


async def _paced(n: int, window: float, send: Any) -> None:
    """send(i) for i in 0..n-1 at begin + i·window/n; at most 64 outstanding, so a slow side slows the pace
    (and its due moments follow) instead of piling up long polls."""
    outstanding, begin = asyncio.Semaphore(64), clock.monotonic()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, begin + i * window / n - clock.monotonic()))
        async with outstanding:
            await send(i)

    await asyncio.gather(*(one(i) for i in range(n)))


def _summary(late: list[float], spans: list, unfired: int, **extra: Any) -> dict[str, Any]:
    return {
        "events": len(late),
        "unfired": unfired,
        "p50": statistics.median(late) if late else None,
        "p99": percentile(late, 99) if late else None,
        "peak_live": peak_live(spans),
        **extra,
    }


async def rectify_point(pg: Any, n: int, window: float, workers: int, minute_s: float, grace: float) -> dict:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        await stack.worker.shutdown()  # the cases run on worker processes of their own, as in production
        policy = minutes_policy(stack.city.policy, minute_s)
        offsets = due_offsets(stack.city, policy)
        client = RectifyClient(stack.env.client, stack.store, replace(stack.city, policy=policy), stack.task_queue)
        points, tag = spots(stack.city), uuid.uuid4().hex[:6]
        procs = _workers(stack, workers)
        peak_rss = 0.0

        async def sample() -> None:
            nonlocal peak_rss
            while True:
                peak_rss = max(peak_rss, *(_rss([p.pid]) for p in procs))
                await asyncio.sleep(1)

        async def report(i: int) -> None:
            await client.report(
                idempotency_key=f"timers-{tag}-{i}",
                category="street_vending",
                description="占道经营",
                location=points[i % len(points)],
                channel=Channel.HOTLINE,
                actor=Actor(unit_id="citizen", role=Role.REPORTER),
            )

        sampler = asyncio.create_task(sample())
        pool = stack.store.pool
        try:
            await _paced(n, window, report)
            give_up = clock.monotonic() + max(offsets) + grace
            while clock.monotonic() < give_up:
                if await pool.fetchval("SELECT count(*) FROM events WHERE type = ANY($1)", list(TIMED)) >= n * len(
                    offsets
                ):
                    break
                await asyncio.sleep(1)
        finally:
            sampler.cancel()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
        now = datetime.now(UTC)
        rows = await pool.fetch(
            """SELECT case_id, (body->>'due_at')::timestamptz AS due, occurred_at FROM events
               WHERE type = ANY($1) ORDER BY case_id, version""",
            list(TIMED),
        )
        opened = {
            r["case_id"]: r["occurred_at"]
            for r in await pool.fetch("SELECT case_id, occurred_at FROM events WHERE type = 'case_reported'")
        }
        late = [(r["occurred_at"] - r["due"]).total_seconds() for r in rows]
        fired: dict[str, int] = {}
        for r in rows:
            fired[r["case_id"]] = fired.get(r["case_id"], 0) + 1
        unfired = 0
        for case_id, at in opened.items():  # what has not fired counts at its lateness so far
            for offset in offsets[fired.get(case_id, 0) :]:
                unfired += 1
                late.append(max(0.0, (now - at - timedelta(seconds=offset)).total_seconds()))
        spans = [(at, at + timedelta(seconds=max(offsets))) for at in opened.values()]
        audit = await verify(stack.store)
        server = [p.pid for p in psutil.Process().children(recursive=True) if "temporal" in " ".join(p.cmdline())]
        return _summary(
            late,
            spans,
            unfired + (n - len(opened)) * len(offsets),
            reported=len(opened),
            worker_rss_mib=peak_rss,
            server_rss_mib=_rss(server),
            audit_ok=audit.ok,
        )


async def raw_point(pg: Any, n: int, window: float, minute_s: float, grace: float) -> dict:
    """Raw sleeping workflows at the same pace, each until its case's same moments."""
    async with TestStack(pg=pg, time_skipping=False) as stack:
        await stack.worker.shutdown()
        offsets = due_offsets(stack.city, minutes_policy(stack.city.policy, minute_s))
        queue = f"bench-timers-{uuid.uuid4().hex[:6]}"
        started: dict[int, datetime] = {}
        handles = []

        async def start(i: int) -> None:
            at = datetime.now(UTC)
            started[i] = at
            due = [(at + timedelta(seconds=o)).isoformat() for o in offsets]
            handles.append(
                await stack.env.client.start_workflow(BenchTimer.run, due, id=f"{queue}-{i}", task_queue=queue)
            )

        async with Worker(stack.env.client, task_queue=queue, workflows=[BenchTimer]):
            await _paced(n, window, start)
            # A few result long-polls at a time: the dev server refuses more than its namespace's poller limit
            # ("namespace concurrent poller limit exceeded" at 500 at once). A workflow that has finished answers
            # its turn at once, so waiting in turn does not make a point longer.
            polls = asyncio.Semaphore(32)

            async def lateness(handle: Any) -> list[float]:
                async with polls:
                    return await handle.result()

            waiting = [asyncio.ensure_future(lateness(h)) for h in handles]
            done, pending = await asyncio.wait(waiting, timeout=max(offsets) + grace)
            for task in pending:
                task.cancel()
    late = [x for task in done for x in task.result()]
    spans = [(at, at + timedelta(seconds=max(offsets))) for at in started.values()]
    # A raw workflow still sleeping when the point gave up is left out (its moments may have fired on time).
    return _summary(late, spans, len(pending) * len(offsets))


async def run(
    pg: Any, sizes: list[int], workers: list[int], window: float | None = None, minute_s: float = 60
) -> tuple[list[dict], dict]:
    """The curve's points (and the target's row: p99 at 2,000 live cases on two workers)."""
    life = 3.5 * minute_s  # a case's life under the policy: report to its last rung
    window = window or life
    grace = max(60.0, 1.5 * life)
    points = []
    for n in sizes:
        interrupt.raise_if_interrupted()
        raw = await raw_point(pg, n, window, minute_s, grace)
        for count in workers:
            interrupt.raise_if_interrupted()
            ours = await rectify_point(pg, n, window, count, minute_s, grace)
            points.append({"cases": n, "workers": count, "rectify": ours, "raw": raw})
    curve = {"window_s": window, "minute_s": minute_s, "points": points}
    return [_target_row(points)], curve


def _target_row(points: list[dict]) -> dict:
    """p99 at the largest size run on two worker processes, against raw at that size."""
    on_two = [p for p in points if p["workers"] == TARGET_WORKERS]
    common = {
        "size_unit": "live cases",
        "unit": "s",
        "better": "lower",
        "baseline_name": "raw sleeping workflows at the same pace and moments",
        "target": Target("<=", 1.5, "≤ 1.5× raw + 1 s", plus=1.0, size=TARGET_SIZE),
    }
    name = f"timer lateness p99, {TARGET_WORKERS} worker processes"
    if not on_two:
        return row(
            "timers.p99",
            "timers",
            name,
            size=0,
            size_text="no point on two worker processes was run",
            value=None,
            baseline=None,
            missing="no point on two worker processes was run",
            **common,
        )
    at = max(on_two, key=lambda p: p["cases"])
    ours, raw = at["rectify"], at["raw"]
    note = (
        f"p50 {ours['p50']:.2f} s (raw {raw['p50']:.2f} s); peak {ours['peak_live']:,} live cases "
        f"(raw {raw['peak_live']:,}); {ours['events']:,} timed events"
        + (f", {ours['unfired']:,} not fired when the point gave up" if ours["unfired"] else "")
        + f"; worker peak {ours['worker_rss_mib']:.0f} MiB"
    )
    return row(
        "timers.p99",
        "timers",
        name,
        size=at["cases"],
        size_text=f"{at['cases']:,} cases paced over one case's life, {TARGET_WORKERS} worker processes",
        value=ours["p99"],
        baseline=raw["p99"],
        audit_ok=ours["audit_ok"],
        note=note,
        **common,
    )
