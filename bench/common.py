"""What the benchmarks share: a fresh database on the benchmark server, and reports sent many at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg


async def fresh_database(pg: Any, name: str) -> str:
    """An empty database of this name on the server (replacing an earlier one); returns its URL."""
    admin = await asyncpg.connect(pg.url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return pg.database_url(name)


async def concurrently(n: int, width: int, job: Callable[[int], Awaitable[None]]) -> float:
    """Run job(0) … job(n-1), `width` at a time; returns jobs per second."""
    queue = list(range(n))

    async def lane() -> None:
        while queue:
            await job(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(width)))
    return n / (time.perf_counter() - started)
