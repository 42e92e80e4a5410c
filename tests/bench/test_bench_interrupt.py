"""Ctrl-C stops `make bench` as a whole: a benchmark that turns the cancel into an error of its own (as the Temporal
SDK does for a cancelled update) is not recorded as failed with the next one started. No server starts."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from bench.run import run_each


def jobs(ran: list[str], swallow: bool) -> dict:
    async def first() -> list[dict]:
        ran.append("first")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            if swallow:
                raise RuntimeError("update cancelled") from None  # the SDK's WorkflowUpdateRPCTimeoutOrCancelledError
            raise
        return []

    async def second() -> list[dict]:
        ran.append("second")
        return [{"name": "second"}]

    return {"first": ("first …", first), "second": ("second …", second)}


@pytest.mark.parametrize("swallow", [False, True])
async def test_a_cancelled_run_starts_no_further_benchmark(swallow: bool) -> None:
    ran: list[str] = []
    failed: dict[str, str] = {}
    console = Console(file=io.StringIO())
    task = asyncio.create_task(run_each(jobs(ran, swallow), console, failed))
    while not ran:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ran == ["first"]
    assert failed == {}


async def test_a_failed_benchmark_is_named_and_the_others_still_run() -> None:
    ran: list[str] = []
    failed: dict[str, str] = {}

    async def broken() -> list[dict]:
        ran.append("broken")
        raise ValueError("no server")

    rows = await run_each(
        {"broken": ("…", broken), "second": jobs(ran, False)["second"]}, Console(file=io.StringIO()), failed
    )
    assert ran == ["broken", "second"]
    assert failed == {"broken": "ValueError: no server"}
    assert rows == [{"name": "second"}]
