"""Store appends: Rectify against the `eventsourcing` library at its fastest and against the same-work limit.

The work: new cases of 5 events each (report, dispatch and its deadlines, made by the real decider), at 1 and at
8 concurrent writers, on the same embedded PostgreSQL, each contender in a fresh database of its own.

- **Rectify**: what the case workflow's local append does for a command (activities/appends.py
  `append_events`): `EventStore.append_or_stored`, one call of `rectify_append`, which also files the
  notifications in the unit inboxes (migration 0015).
- **eventsourcing at its fastest**: its PostgreSQL application recorder (the one with a global order, as
  Rectify's positions) with `POSTGRES_ENABLE_DB_FUNCTIONS`, the setting its documentation uses for its own
  speed runs: one call of a database function per insert, instead of a pipelined transaction with an
  EXCLUSIVE table lock. Its function still NOTIFYs (not configurable). Events are handed to it already
  serialised, so it does less than it would behind an application. Its defaults are measured too.
- **The limit** (bench/limit.py): the same rows as Rectify, in one hand-written call.

Contenders take turns in rounds (the order rotating), so a busy moment on a shared machine falls on all of
them; each rate is all its cases over all its time.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any

import asyncpg

from bench.limit import Limit, row_counts
from bench.results import Target, row
from rectify.audit.verify import verify
from rectify.domain import commands as c
from rectify.domain.decider import case_id_for, decide
from rectify.domain.events import event_body
from rectify.domain.state import fold
from rectify.domain.types import Actor, Channel, Role
from rectify.store import EventStore, migrate

EVENTS_PER_CASE = 5
CONTENDERS = ("rectify", "limit", "es_fastest", "es_defaults")
ES = f"eventsourcing {version('eventsourcing')}"


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


async def _lanes(cases: list, writers: int, write: Callable[[Any], Awaitable[Any]]) -> float:
    """Seconds to write every case, `writers` at a time."""
    queue = list(cases)

    async def lane() -> None:
        while queue:
            await write(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(writers)))
    return time.perf_counter() - started


class Contender:
    """One way of writing, with its database; `write(cases)` returns the seconds it took."""

    name: str

    async def open(self, pg: Any, writers: int) -> None:
        self.database = f"bench_{self.name}_{writers}_{uuid.uuid4().hex[:6]}"
        self.url = await pg.create_database(self.database)
        self.writers = writers

    async def write(self, cases: list) -> float:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class Rectify(Contender):
    name = "rectify"

    async def open(self, pg: Any, writers: int) -> None:
        await super().open(pg, writers)
        self.store = await EventStore.connect(self.url, min_size=writers, max_size=writers)
        await migrate(self.store.pool)

    async def write(self, cases: list) -> float:
        store = self.store

        async def command(case: tuple) -> None:
            case_id, events, state = case
            await store.append_or_stored(case_id, 0, events, state)

        return await _lanes(cases, self.writers, command)

    async def close(self) -> None:
        await self.store.close()


class HandWritten(Contender):
    name = "limit"

    async def open(self, pg: Any, writers: int) -> None:
        await super().open(pg, writers)
        self.pool = await asyncpg.create_pool(self.url, min_size=writers, max_size=writers)
        await migrate(self.pool)
        async with self.pool.acquire() as conn:
            self.limit = await Limit.install(conn)

    async def write(self, cases: list) -> float:
        pool, limit = self.pool, self.limit

        async def command(case: tuple) -> None:
            _, events, state = case
            async with pool.acquire() as conn:
                await limit.append(conn, events, state)

        return await _lanes(cases, self.writers, command)

    async def close(self) -> None:
        await self.pool.close()


class EventSourcing(Contender):
    """The peer library's PostgreSQL application recorder, one case's 5 events per insert, from threads."""

    def __init__(self, *, fastest: bool) -> None:
        self.name = "es_fastest" if fastest else "es_defaults"
        self.fastest = fastest

    async def open(self, pg: Any, writers: int) -> None:
        await super().open(pg, writers)
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        self.datastore = PostgresDatastore(
            self.database,
            pg.host,
            pg.port,
            "postgres",
            "",
            pool_size=writers,
            max_overflow=0,
            enable_db_functions=self.fastest,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore)
        await asyncio.to_thread(self.recorder.create_table)
        self.executor = ThreadPoolExecutor(writers)

    async def write(self, cases: list) -> float:
        from eventsourcing.persistence import StoredEvent

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

        def insert_all() -> float:
            started = time.perf_counter()
            if self.writers == 1:
                for batch in batches:
                    self.recorder.insert_events(batch)
            else:
                list(self.executor.map(self.recorder.insert_events, batches))
            return time.perf_counter() - started

        return await asyncio.to_thread(insert_all)

    async def close(self) -> None:
        self.executor.shutdown()
        await asyncio.to_thread(self.datastore.close)


def contenders() -> list[Contender]:
    return [
        Rectify(),
        HandWritten(),
        EventSourcing(fastest=True),
        EventSourcing(fastest=False),
    ]


async def _same_rows(rectify: Rectify, limit: HandWritten) -> dict[str, Any]:
    """The limit must have written what Rectify wrote: as many rows in each table, and a store that verifies."""
    ours, theirs = await row_counts(rectify.store.pool), await row_counts(limit.pool)
    if ours != theirs:
        raise RuntimeError(f"the limit wrote other rows than Rectify: {theirs} against {ours}")
    for url in (rectify.url, limit.url):
        store = await EventStore.connect(url, max_size=2)
        try:
            report = await verify(store, workers=1)
        finally:
            await store.close()
        if not report.ok:
            raise RuntimeError(f"{url}: the store written by the benchmark does not verify")
    return ours


async def measure(pg: Any, city: Any, n: int, writers: int, rounds: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Cases per second for each contender, and the rows each wrote."""
    cases = sample_cases(city, n, f"w{writers}")
    chunks = [cases[i::rounds] for i in range(rounds)]
    field = contenders()
    for contender in field:
        await contender.open(pg, writers)
    spent: dict[str, float] = dict.fromkeys(CONTENDERS, 0.0)
    try:
        for index, chunk in enumerate(chunks):
            for contender in field[index % len(field) :] + field[: index % len(field)]:
                spent[contender.name] += await contender.write(chunk)
        rows = await _same_rows(field[0], field[1])  # type: ignore[arg-type]
    finally:
        for contender in field:
            await contender.close()
    return {name: n / seconds for name, seconds in spent.items()}, rows


async def run(pg: Any, city: Any, n: int = 1500, rounds: int = 3) -> list[dict]:
    results = []
    for writers in (1, 8):
        rate, rows = await measure(pg, city, n, writers, rounds)
        label = f"{writers} writer{'s' if writers > 1 else ''}"
        common: dict[str, Any] = {
            "group": "store",
            "size": n,
            "size_unit": "cases",
            "size_text": f"{n:,} cases of 5 events, {label}",
            "unit": "cases/s",
            "better": "higher",
            "value": rate["rectify"],
        }
        ceiling: dict[str, Any] = common | {"value": rate["limit"]}
        results += [
            row(
                f"store.eventsourcing.w{writers}",
                name=f"store appends vs eventsourcing at its fastest, {label}",
                baseline_name=f"{ES}, application recorder, POSTGRES_ENABLE_DB_FUNCTIONS=y",
                baseline=rate["es_fastest"],
                target=Target(">=", 2.0, "≥ 2×"),
                **common,
            ),
            row(
                f"store.limit.w{writers}",
                name=f"store appends vs the same-work asyncpg limit, {label}",
                baseline_name="hand-written asyncpg, the same rows in one call (bench/limit.py)",
                baseline=rate["limit"],
                target=Target(">=", 0.8, "≥ 0.8×"),
                details={"rates": rate, "rows_written": rows, "rounds": rounds},
                **common,
            ),
            row(
                f"store.ceiling.w{writers}",
                name=f"the same-work limit vs eventsourcing at its fastest, {label} (the ceiling for the first target)",
                baseline_name=f"{ES}, application recorder, POSTGRES_ENABLE_DB_FUNCTIONS=y",
                baseline=rate["es_fastest"],
                **ceiling,
            ),
            row(
                f"store.eventsourcing_defaults.w{writers}",
                name=f"store appends vs eventsourcing at its defaults, {label}",
                baseline_name=f"{ES}, application recorder, defaults (EXCLUSIVE table lock, NOTIFY)",
                baseline=rate["es_defaults"],
                **common,
            ),
        ]
    return results
