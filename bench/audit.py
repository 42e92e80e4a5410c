"""Audit verify and read-model rebuild throughput over a simulated store, against a bare scan of it.

The store is filled by the simulation's direct engine (real events, real chains); the baseline reads
the same rows in the same order and parses their JSON, which is the least any check must do.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console

from rectify.audit.verify import verify
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.store import EventStore


async def _scan(store: EventStore) -> float:
    started = time.perf_counter()
    n = 0
    async with store.pool.acquire() as conn, conn.transaction():
        query = "SELECT case_id, version, body, hash, prev_hash FROM events ORDER BY case_id, version"
        async for _ in conn.cursor(query, prefetch=2000):
            n += 1
    return n / (time.perf_counter() - started)


async def run(pg: Any, city: Any, days: int, per_day: int, out: Path) -> list[dict]:
    url = await pg.create_database(f"bench_audit_{days}x{per_day}", replace=True)
    config = SimConfig(seed=3, days=days, reports_per_day=per_day, start=date(2026, 11, 2))
    options = SimOptions(
        config=config, engine=EngineName.DIRECT, out_dir=out, data_dir=out, database_url=url, charts=False
    )
    await simulate(city, options, Console(quiet=True))
    store = await EventStore.connect(url)
    try:
        events = await store.pool.fetchval("SELECT count(*) FROM events")
        scan = await _scan(store)
        started = time.perf_counter()
        report = await verify(store)
        verify_rate = events / (time.perf_counter() - started)
        started = time.perf_counter()
        await store.rebuild_read_models()
        rebuild_rate = events / (time.perf_counter() - started)
    finally:
        await store.close()
    assert report.ok, "the benchmark store does not verify"
    common = {
        "unit": "events/s",
        "baseline": scan,
        "baseline_name": "bare ordered scan + JSON decode",
        "events": events,
    }
    return [
        {
            "benchmark": f"audit verify ({events:,} events)",
            "measured": verify_rate,
            "ratio": verify_rate / scan,
            "target_absolute": 100_000,
            **common,
        },
        {
            "benchmark": f"read-model rebuild ({events:,} events)",
            "measured": rebuild_rate,
            "ratio": rebuild_rate / scan,
            "target_absolute": 50_000,
            **common,
        },
    ]
