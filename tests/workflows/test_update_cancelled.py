"""A cancelled update comes back to its caller as the cancel it was (the SDK raises its own
WorkflowUpdateRPCTimeoutOrCancelledError), so Ctrl-C stops a run rather than being recorded as a failed update."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from rectify.client.temporal import _patiently


async def test_a_cancelled_update_is_a_cancel_not_the_sdks_error() -> None:
    sent = asyncio.Event()

    async def send() -> None:
        sent.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise WorkflowUpdateRPCTimeoutOrCancelledError() from None  # what the SDK does

    task = asyncio.create_task(_patiently(send))
    await sent.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_servers_not_now_is_sent_again() -> None:
    tries = []

    async def send() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise WorkflowUpdateRPCTimeoutOrCancelledError()  # the server's timeout, no cancel of ours
        return "done"

    assert await _patiently(send) == "done" and len(tries) == 2
