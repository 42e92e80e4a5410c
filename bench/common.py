"""What the benchmarks share: jobs sent many at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def concurrently(n: int, width: int, job: Callable[[int], Awaitable[None]]) -> float:
    """Run job(0) … job(n-1), `width` at a time; returns jobs per second."""
    queue = list(range(n))

    async def lane() -> None:
        while queue:
            await job(queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(width)))
    return n / (time.perf_counter() - started)
