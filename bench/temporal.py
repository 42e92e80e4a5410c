"""Intake, burst and claim latency against raw Temporal on the same dev server, in the same run.

- Intake: a Rectify report (the SDK's idempotency record, the case workflow started, its report decided,
  routed and appended through a local activity, the `opened` update answered) against a raw case
  (`BenchCase`: one no-op local activity, `opened` answered after it), sent with update-with-start, the
  fewest calls Temporal offers for "start it and tell me when its first step is done", and raw started then
  updated (two calls), which has run faster on this dev server. The faster raw way in the run is the baseline.
  The sides take turns, so a drift in the machine's load falls on all of them.
- Burst: the same, a day's load sent 64 at a time.
- Claim latency: in each of 5 repetitions, claims on open cases alternate one by one with a no-op update
  on an open raw case (and an update that runs a no-op local activity, for the record). Each repetition has
  its own p50 and p99 for each; the rows give the median of the 5.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from bench.raw_workflows import BenchCase, noop
from bench.results import Target, row
from rectify.city.sampling import inside_points
from rectify.devstack import TestStack
from rectify.domain.types import Actor, Channel, Role

Send = Callable[[int], Awaitable[None]]


#: The lattice of report spots (degrees): about 4,000 spots in the district, some 400 m apart, so that up to that
#: many reports are each a case of their own (the duplicate rule joins a report to an open case within 30-50 m).
SPOT_STEP = 0.004


def spots(city: object) -> tuple:
    """Distinct report spots: the n-th report of a run at spots[n] is never a duplicate of another."""
    return inside_points(city, SPOT_STEP)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank on the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def concurrently(jobs: list[int], width: int, job: Send) -> float:
    """Seconds to run job(i) for each i, `width` at a time."""
    import asyncio

    queue = list(reversed(jobs))

    async def lane() -> None:
        while queue:
            await job(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(width)))
    return time.perf_counter() - started


class Senders:
    """One Rectify report, one raw case (update-with-start), one raw case the Rectify way (start + update)."""

    def __init__(self, stack: TestStack, raw_queue: str) -> None:
        self.stack, self.raw_queue = stack, raw_queue
        self.points, self.tag = spots(stack.city), uuid.uuid4().hex[:6]

    def raw_id(self, i: int) -> str:
        return f"raw-{self.tag}-{i}"

    async def report(self, i: int) -> None:
        await self.stack.client.report(
            idempotency_key=f"bench-{self.tag}-{i}",
            category="street_vending",
            description="占道经营",
            location=self.points[i % len(self.points)],
            channel=Channel.HOTLINE,
            actor=Actor(unit_id="citizen", role=Role.REPORTER),
        )

    async def raw(self, i: int) -> None:
        start = WithStartWorkflowOperation(
            BenchCase.run,
            id=self.raw_id(i),
            task_queue=self.raw_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await self.stack.env.client.execute_update_with_start_workflow(BenchCase.opened, start_workflow_operation=start)

    async def raw_two_calls(self, i: int) -> None:
        handle = await self.stack.env.client.start_workflow(
            BenchCase.run, id=f"raw2-{self.tag}-{i}", task_queue=self.raw_queue
        )
        await handle.execute_update(BenchCase.opened)


async def intake_rates(senders: Senders, n: int, width: int) -> dict[str, float]:
    """Reports per second each way, n each, in turns (raw, raw start-then-update, Rectify, Rectify, the second raw
    way, raw; half of the ids each time), so a drift in the machine's load falls on every side alike."""
    halves = [list(range(0, n, 2)), list(range(1, n, 2))]
    sends = {"raw": senders.raw, "raw_two_calls": senders.raw_two_calls, "rectify": senders.report}
    spent = dict.fromkeys(sends, 0.0)
    turns = ("raw", "raw_two_calls", "rectify", "rectify", "raw_two_calls", "raw")
    for turn, who in enumerate(turns):
        spent[who] += await concurrently(halves[turn // 3], width, sends[who])
    return {who: n / seconds for who, seconds in spent.items()}


def strongest_raw(rates: dict[str, float]) -> tuple[str, float]:
    """The faster of the two raw ways: the baseline the figure is judged against."""
    if rates["raw_two_calls"] > rates["raw"]:
        return "raw workflow, 1 local activity, start then update (the faster raw way in this run)", rates[
            "raw_two_calls"
        ]
    return "raw workflow, 1 local activity, update-with-start (the faster raw way in this run)", rates["raw"]


async def claims(stack: TestStack, senders: Senders, count: int, reps: int) -> list[dict[str, float]]:
    """Per repetition: p50 and p99 (ms) of claims, of no-op updates and of updates with a local activity."""
    client, temporal = stack.client, stack.env.client
    cases = [r.case_id for r in await client.list(limit=count * reps)]
    if len(cases) < count * reps:
        raise RuntimeError(f"{len(cases)} open cases for {count * reps} claims")
    leads: dict[str, str] = {}
    for case_id in cases:
        row = await client.store.get_case(case_id)
        if row is None or row.lead_unit is None:
            raise RuntimeError(f"case {case_id} has no lead unit to claim it")
        leads[case_id] = row.lead_unit
    out = []
    for rep in range(reps):
        times: dict[str, list[float]] = {"claim": [], "update": [], "update_local": []}
        for i in range(count):
            case_id = cases[rep * count + i]
            raw = temporal.get_workflow_handle(senders.raw_id(rep * count + i))
            for kind in times:
                started = time.perf_counter()
                if kind == "claim":
                    await client.claim(case_id, Actor(unit_id=leads[case_id], role=Role.UNIT))
                elif kind == "update":
                    await raw.execute_update(BenchCase.poke)
                else:
                    await raw.execute_update(BenchCase.poke_local)
                times[kind].append((time.perf_counter() - started) * 1000)
        out.append({f"{kind}_p{q}": percentile(v, q) for kind, v in times.items() for q in (50, 99)})
    return out


def _intake_row(id: str, name: str, n: int, width: int, rates: dict[str, float], **extra: Any) -> dict:
    return row(
        id,
        "temporal",
        name,
        size=n,
        size_unit="reports",
        size_text=f"{n:,} reports, {width} at a time",
        unit="reports/s",
        better="higher",
        value=rates["rectify"],
        baseline_name=strongest_raw(rates)[0],
        baseline=strongest_raw(rates)[1],
        target=Target(">=", 0.8, "≥ 0.8×"),
        details={"rates": rates},
        **extra,
    )


async def run(pg: Any, n: int = 300, width: int = 16, claim_count: int = 40, reps: int = 5) -> list[dict]:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        raw_queue = f"bench-raw-{uuid.uuid4().hex[:6]}"
        async with Worker(stack.env.client, task_queue=raw_queue, workflows=[BenchCase], activities=[noop]):
            senders = Senders(stack, raw_queue)
            rates = await intake_rates(senders, n, width)
            # The claims need as many open cases and open raw cases as they claim: top both up if short.
            if more := list(range(n, claim_count * reps)):
                await concurrently(more, width, senders.report)
                await concurrently(more, width, senders.raw)
            reps_found = await claims(stack, senders, claim_count, reps)
    note = (
        f"raw with update-with-start {rates['raw']:,.1f} reports/s, raw start then update "
        f"{rates['raw_two_calls']:,.1f} reports/s; the faster is the baseline"
    )
    rows = [_intake_row("temporal.intake", "intake", n, width, rates, note=note)]
    for q, target in ((50, Target("<=", 1.5, "≤ 1.5× raw update")), (99, Target("<=", 2.0, "≤ 2× raw update"))):
        ours = statistics.median(r[f"claim_p{q}"] for r in reps_found)
        raw = statistics.median(r[f"update_p{q}"] for r in reps_found)
        local = statistics.median(r[f"update_local_p{q}"] for r in reps_found)
        rows.append(
            row(
                f"temporal.claim_p{q}",
                "temporal",
                f"claim latency p{q}, median of {reps}",
                size=claim_count,
                size_unit="claims per repetition",
                size_text=f"{reps} repetitions of {claim_count} claims, each beside as many raw updates",
                unit="ms",
                better="lower",
                value=ours,
                baseline_name="raw no-op update on an open workflow, alternating with the claims",
                baseline=raw,
                target=target,
                note=f"raw update running a no-op local activity: {local:.1f} ms",
                details={"repetitions": reps_found},
            )
        )
    return rows


async def burst(pg: Any, n: int = 2000, width: int = 64) -> list[dict]:
    """A day's load sent as fast as the client allows, until every report is opened and stored."""
    async with TestStack(pg=pg, time_skipping=False) as stack:
        raw_queue = f"bench-burst-{uuid.uuid4().hex[:6]}"
        async with Worker(stack.env.client, task_queue=raw_queue, workflows=[BenchCase], activities=[noop]):
            rates = await intake_rates(Senders(stack, raw_queue), n, width)
            stored = await stack.store.pool.fetchval("SELECT count(*) FROM cases")
    if stored != n:
        raise RuntimeError(f"{stored} of {n} reports stored")
    note = (
        f"{n / rates['rectify']:.0f} s for the day's load; raw with update-with-start {rates['raw']:,.1f}/s, "
        f"raw start then update {rates['raw_two_calls']:,.1f}/s, the faster is the baseline"
    )
    return [_intake_row("temporal.burst", "burst intake", n, width, rates, note=note)]
