"""Audit verify, read-model rebuild and the incremental verify, each against a bare scan of the same rows.

A store is filled by the simulation's direct engine (real events, real chains) for `days` days. At the start of
the last simulated day the run pauses, and on the store as it stands (about a million events at the default
size) it measures:

- the bare scan: every column of every event in stream order, JSON decoded, nothing checked: the least any check
  must do; split over as many processes as the verify uses, and in one, the faster of the two as the baseline;
- `verify` (full) and `rebuild_read_models`, over the same events;
- then a verified checkpoint is recorded, as the full verify that passed records it.

The simulation then plays the last day (its reports, and the claims, submissions, deadlines and rungs of the
open cases), and the hourly step (`verify_and_record(store, since_checkpoint=True)`: the incremental verify and
the verified checkpoint it chains) is timed against a bare scan of that day's events alone.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.results import Target, row
from rectify.audit.verify import verify, verify_and_record
from rectify.sim.core import SimConfig, Simulation
from rectify.sim.direct import DirectEngine
from rectify.store import EventStore, migrate
from rectify.store.checkpoints import record_verified

MILLION = 1_000_000
#: Every column of `events` in stream order: what a verify must read at the least.
SCAN = "SELECT * FROM events WHERE {where} ORDER BY case_id, version"
PREFETCH = 2000


def workers() -> int:
    """As many processes as `rectify audit verify` uses by default (one per CPU, at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))


async def _scan(url: str, where: str, args: tuple) -> int:
    import json

    import orjson

    conn = await asyncpg.connect(url)
    try:
        # The fastest decoder there is here (the verify's own): the strongest baseline.
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=orjson.loads, schema="pg_catalog")
        n = 0
        async with conn.transaction(readonly=True):
            async for _ in conn.cursor(SCAN.format(where=where), *args, prefetch=PREFETCH):
                n += 1
        return n
    finally:
        await conn.close()


def _scan_part(url: str, where: str, args: tuple) -> int:
    return asyncio.run(_scan(url, where, args))


async def bare_scan(url: str, parts: int, where: str = "true", args: tuple = ()) -> tuple[int, float]:
    """(events, seconds): the rows matching `where`, over `parts` processes split by case id (1: in this one)."""
    started = time.perf_counter()
    if parts <= 1:
        return await _scan(url, where, args), time.perf_counter() - started
    conn = await asyncpg.connect(url)
    try:
        cuts = await conn.fetchval(
            "SELECT percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY case_id) FROM events WHERE version = 1",
            [i / parts for i in range(1, parts)],
        )
    finally:
        await conn.close()
    edges = [None, *sorted(set(cuts or [])), None]
    jobs: list[tuple[str, tuple[Any, ...]]] = []
    for low, high in itertools.pairwise(edges):
        clause, extra = [where], list(args)
        for op, bound in ((">=", low), ("<", high)):
            if bound is not None:
                extra.append(bound)
                clause.append(f"case_id {op} ${len(extra)}")
        jobs.append((" AND ".join(clause), tuple(extra)))
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        counts = await asyncio.gather(*(loop.run_in_executor(pool, _scan_part, url, *job) for job in jobs))
    return sum(counts), time.perf_counter() - started


async def timed(job: Awaitable[Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    done = await job
    return done, time.perf_counter() - started


@dataclass
class Whole:
    """What was measured on the store at the start of the last day."""

    events: int = 0
    scan_s: float = 0.0
    scan_one_s: float = 0.0
    verify_s: float = 0.0
    verify_ok: bool = False
    rebuild_s: float = 0.0
    checkpoint_position: int = 0


class PausingEngine(DirectEngine):
    """The direct engine, pausing once when the simulated clock reaches `mark` to run `at_mark`."""

    def __init__(self, *args: Any, mark: datetime, at_mark: Callable[[], Awaitable[None]], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.mark, self.at_mark, self.paused = mark, at_mark, False

    async def advance_to(self, at: datetime) -> None:
        await super().advance_to(at)
        if not self.paused and at >= self.mark:
            self.paused = True
            await self.flush()
            await self.at_mark()


async def incremental_verify(store: EventStore) -> Any:
    """What the hourly Schedule does: the incremental verify, then a verified checkpoint chained after it."""
    report, recorded = await verify_and_record(store, since_checkpoint=True)
    if report.scope != "incremental" or recorded is None:
        raise RuntimeError(f"the hourly verify ran as {report.scope!r} and recorded {recorded}")
    return report


async def run(pg: Any, city: Any, days: int, per_day: int, out: Path) -> list[dict]:
    url = await pg.create_database(f"bench_audit_{days}x{per_day}", replace=True)
    store = await EventStore.connect(url)
    whole = Whole()
    parts = workers()

    async def at_mark() -> None:
        whole.events = await store.pool.fetchval("SELECT count(*) FROM events")
        _, whole.scan_s = await bare_scan(url, parts)
        _, whole.scan_one_s = await bare_scan(url, 1)
        report, whole.verify_s = await timed(verify(store))
        whole.verify_ok = report.ok
        _, whole.rebuild_s = await timed(store.rebuild_read_models())
        # The incremental verify starts from the latest verified checkpoint: recorded here, as the full verify that
        # passed records it (its recording is not timed: the weekly full verify's, not the hourly step's).
        cp = await record_verified(store.pool, "full", await store.pool.fetchval("SELECT max(position) FROM events"))
        assert cp is not None
        whole.checkpoint_position = cp.position

    try:
        await migrate(store.pool)
        config = SimConfig(seed=3, days=days, reports_per_day=per_day, start=date(2026, 11, 2))
        mark = config.start_at(city) + timedelta(days=days - 1)
        engine = PausingEngine(store, city, out, mark=mark, at_mark=at_mark)
        await Simulation(city, config, engine).run()
        total = await store.pool.fetchval("SELECT count(*) FROM events")
        since = whole.checkpoint_position
        day_events, day_scan_s = await bare_scan(url, 1, "position > $1", (since,))
        incremental = await timed(incremental_verify(store))
    finally:
        await store.close()
    if not whole.verify_ok:
        raise RuntimeError("the benchmark store does not verify")
    return _rows(whole, parts, days, per_day, total, day_events, day_scan_s, incremental)


def _rows(
    whole: Whole,
    parts: int,
    days: int,
    per_day: int,
    total: int,
    day_events: int,
    day_scan_s: float,
    incremental: tuple[Any, float] | None,
) -> list[dict]:
    n = whole.events
    # The strongest scan: in as many processes as the verify uses, or in one if that is faster (a small store).
    fastest = min(whole.scan_s, whole.scan_one_s)
    used = parts if whole.scan_s <= whole.scan_one_s else 1
    common = {
        "group": "audit",
        "size": n,
        "size_unit": "events",
        "size_text": f"{n:,} events ({days - 1} days × {per_day:,} reports)",
        "unit": "events/s",
        "better": "higher",
        "baseline_name": f"bare ordered scan + JSON decode, {used} process{'es' if used > 1 else ''}",
        "baseline": n / fastest,
    }
    one = f"the scan in {parts} processes: {n / whole.scan_s:,.0f} events/s, in one: {n / whole.scan_one_s:,.0f}"
    rows = [
        row(
            "audit.verify",
            name="audit verify, full",
            value=n / whole.verify_s,
            target=Target(">=", 0.8, "≥ 0.8× the bare scan + JSON decode", size=MILLION),
            audit_ok=whole.verify_ok,
            note=f"{whole.verify_s:.0f} s; {one}",
            details={"seconds": whole.verify_s, "scan_seconds": whole.scan_s, "scan_one_process_s": whole.scan_one_s},
            **common,
        ),
        row(
            "audit.rebuild",
            name="read-model rebuild",
            value=n / whole.rebuild_s,
            target=Target(">=", 0.5, "≥ 0.5× the bare scan", size=MILLION),
            note=f"{whole.rebuild_s:.0f} s",
            details={"seconds": whole.rebuild_s},
            **common,
        ),
    ]
    report, seconds = incremental if incremental else (None, None)
    rows.append(
        row(
            "audit.incremental",
            "audit",
            "incremental verify after a day",
            size=total,
            size_unit="events",
            size_text=f"a day of {per_day:,} reports ({day_events:,} events) on a {total:,}-event store",
            unit="s",
            better="lower",
            value=seconds,
            baseline_name=f"bare scan + JSON decode of that day's {day_events:,} events alone, 1 process",
            baseline=day_scan_s,
            target=Target("<=", 2.0, "≤ 2× the time to scan that day's events alone", size=MILLION),
            audit_ok=report.ok if report is not None else None,
            details={"day_events": day_events, "checkpoint_position": whole.checkpoint_position},
        )
    )
    return rows
