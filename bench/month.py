"""Days at a city's real load through the direct engine: throughput, `audit verify`, flat memory.

Resident memory is sampled at every simulated midnight. "Flat" means the last week's peak is within 15 % of the
peak after the first week (open cases are kept, finished ones let go): the comparison is the run against its
own first week, and the row names it so. Throughput has no baseline (no other engine plays the same days).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.results import Target, row
from rectify.audit.verify import verify
from rectify.sim.core import SimConfig, SimCounts, Simulation
from rectify.sim.direct import DirectEngine
from rectify.store import EventStore, migrate


async def run(pg: Any, city: Any, days: int, per_day: int, out: Path) -> list[dict]:
    store = await EventStore.connect(await pg.create_database(f"bench_month_{days}x{per_day}", replace=True))
    process = psutil.Process()
    samples: dict[int, int] = {}
    config = SimConfig(seed=11, days=days, reports_per_day=per_day, start=date(2026, 11, 2))
    first = config.start_at(city)

    def sample(at: datetime, counts: SimCounts) -> None:
        day = (at - first).days
        if day not in samples:
            samples[day] = process.memory_info().rss

    try:
        await migrate(store.pool)
        started = time.perf_counter()
        await Simulation(city, config, DirectEngine(store, city, out), sample).run()
        elapsed = time.perf_counter() - started
        events = await store.pool.fetchval("SELECT count(*) FROM events")
        report = await verify(store)
    finally:
        await store.close()
    week = min(7, days - 1)
    early = max(v for d, v in samples.items() if d <= week) / 2**20
    late = max(v for d, v in samples.items() if d >= days - 7) / 2**20
    size = {
        "size": days,
        "size_unit": "days",
        "size_text": f"{days} days × {per_day:,} reports ({events:,} events)",
    }
    return [
        row(
            "month.throughput",
            "month",
            "days at a city's load, direct engine",
            unit="events/s",
            better="higher",
            value=events / elapsed,
            baseline_name=None,
            baseline=None,
            audit_ok=report.ok,
            note=f"{elapsed:.0f} s; audit verify {'passed' if report.ok else 'FAILED'}",
            **size,
        ),
        row(
            "month.memory",
            "month",
            "resident memory, last week's peak",
            unit="MiB",
            better="lower",
            value=late,
            baseline_name="the same run's peak after its first week",
            baseline=early,
            target=Target("<=", 1.15, "≤ 1.15× (flat)"),
            **size,
        ),
    ]
