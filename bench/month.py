"""A month at a city's real load through the direct engine: invariants, `audit verify`, flat memory.

Resident memory is sampled at every simulated midnight; "flat" means the last week's peak is within
15 % of the peak after the first week (open cases are kept, finished ones let go).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psutil

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
    early = max(v for d, v in samples.items() if d <= week)
    late = max(v for d, v in samples.items() if d >= days - 7)
    mib = 1024 * 1024
    return [
        {
            "benchmark": f"{days} days × {per_day} reports, direct engine ({events:,} events)",
            "unit": "events/s",
            "measured": events / elapsed,
            "baseline": early / mib,
            "baseline_name": "MiB after week 1",
            "ratio": late / early,
            "target_max": 1.15,
            "audit_ok": report.ok,
            "note": f"peak {late / mib:.0f} MiB in the last week; audit verify {'passed' if report.ok else 'FAILED'}",
        },
    ]
