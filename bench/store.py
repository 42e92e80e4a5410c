"""Event store appends against the `eventsourcing` library's PostgreSQL recorder and raw asyncpg inserts.

Cases of 5 events (hash chain and read model included for Rectify) per second, with one writer and
with 8 concurrent writers, on the same embedded PostgreSQL, with events of the same size.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from rectify.domain import commands as c
from rectify.domain.decider import case_id_for, decide
from rectify.domain.events import event_body
from rectify.domain.state import fold
from rectify.domain.types import Actor, Channel, Role
from rectify.store import EventStore, migrate

EVENTS_PER_CASE = 5


def sample_cases(city: Any, n: int, tag: str) -> list[tuple[str, list, Any]]:
    """n cases of exactly 5 events each (report → dispatch → 3 deadlines), made by the real decider."""
    from rectify.city.sampling import inside_points

    points = inside_points(city)
    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        key = f"bench-{tag}-{i}"
        report = c.ReportCase(
            command_id=str(uuid.uuid4()),
            case_id=case_id_for(key),
            actor=Actor(unit_id="citizen", role=Role.REPORTER),
            idempotency_key=key,
            category="street_vending",
            description="人行道上有流动摊贩占道经营，影响通行",
            location=points[i % len(points)],
            channel=Channel.SNAPSHOT,
            routing=city.router.route("street_vending", points[i % len(points)]),
        )
        events = decide(None, report, now + timedelta(seconds=i), city.policy)
        assert len(events) == EVENTS_PER_CASE
        out.append((report.case_id, events, fold(events)))
    return out


async def rectify_rate(url: str, cases: list, writers: int) -> float:
    store = await EventStore.connect(url, min_size=writers, max_size=writers)
    try:
        await migrate(store.pool)
        queue = list(cases)

        async def writer() -> None:
            while queue:
                case_id, events, state = queue.pop()
                await store.append(case_id, 0, events, state)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        return len(cases) / (time.perf_counter() - started)
    finally:
        await store.close()


_RAW_TABLE = """CREATE TABLE IF NOT EXISTS raw_events (
    position bigserial PRIMARY KEY, case_id text NOT NULL, version int NOT NULL, body jsonb NOT NULL,
    UNIQUE (case_id, version))"""


async def raw_rate(url: str, cases: list, writers: int) -> float:
    """The limit: the same rows, one transaction per case, no hashes, no read model, no checks."""
    pool = await asyncpg.create_pool(url, min_size=writers, max_size=writers)
    try:
        await pool.execute(_RAW_TABLE)
        rows = [
            (case_id, [(case_id, e.version, json.dumps(event_body(e), ensure_ascii=False)) for e in events])
            for case_id, events, _ in cases
        ]
        queue = list(rows)

        async def writer() -> None:
            async with pool.acquire() as conn:
                while queue:
                    _, batch = queue.pop()
                    async with conn.transaction():
                        await conn.executemany(
                            "INSERT INTO raw_events (case_id, version, body) VALUES ($1, $2, $3::jsonb)", batch
                        )

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        return len(cases) / (time.perf_counter() - started)
    finally:
        await pool.close()


def eventsourcing_rate(host: str, port: int, dbname: str, cases: list, writers: int) -> float:
    """The peer library: its PostgreSQL application recorder, one aggregate's 5 events per insert."""
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    datastore = PostgresDatastore(dbname, host, port, "postgres", "", pool_size=writers, max_overflow=0)
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    batches = [
        [
            StoredEvent(
                originator_id=uuid.UUID(case_id),
                originator_version=e.version,
                topic=f"rectify:{e.type}",
                state=json.dumps(event_body(e), ensure_ascii=False).encode(),
            )
            for e in events
        ]
        for case_id, events, _ in cases
    ]
    started = time.perf_counter()
    if writers == 1:
        for batch in batches:
            recorder.insert_events(batch)
    else:
        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(recorder.insert_events, batches))
    elapsed = time.perf_counter() - started
    datastore.close()
    return len(cases) / elapsed


async def run(pg: Any, city: Any, n: int = 1500) -> list[dict]:
    """Each figure in its own fresh database of the same server; returns rows for the results table."""
    results = []
    for writers in (1, 8):
        cases = sample_cases(city, n, f"w{writers}")
        figures = {}
        for name in ("rectify", "raw", "eventsourcing"):
            database = f"bench_{name}_{writers}_{uuid.uuid4().hex[:6]}"
            url = await pg.create_database(database)
            if name == "rectify":
                figures[name] = await rectify_rate(url, cases, writers)
            elif name == "raw":
                figures[name] = await raw_rate(url, cases, writers)
            else:
                figures[name] = await asyncio.to_thread(eventsourcing_rate, pg.host, pg.port, database, cases, writers)
        results.append(
            {
                "benchmark": f"store appends, {writers} writer{'s' if writers > 1 else ''}",
                "unit": "cases of 5 events/s",
                "measured": figures["rectify"],
                "baseline": figures["eventsourcing"],
                "baseline_name": "eventsourcing 9.5 recorder",
                "ratio": figures["rectify"] / figures["eventsourcing"],
                "target": 2.0,
            }
        )
        results.append(
            {
                "benchmark": f"store appends vs raw asyncpg, {writers} writer{'s' if writers > 1 else ''}",
                "unit": "cases of 5 events/s",
                "measured": figures["rectify"],
                "baseline": figures["raw"],
                "baseline_name": "raw asyncpg inserts",
                "ratio": figures["rectify"] / figures["raw"],
                "target": 0.6,
            }
        )
    return results
