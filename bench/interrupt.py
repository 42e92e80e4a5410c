"""A Ctrl-C (or SIGTERM) stops the whole run, not just the call it landed in.

asyncio.run takes Ctrl-C as a cancel of the run's task. A library may turn that cancel into an error of its own
(the Temporal SDK raises WorkflowUpdateRPCTimeoutOrCancelledError for a cancelled update), which a benchmark's
"record the failure, go on" would then swallow. The task still counts the cancel it was asked for, so the run
looks at that count between benchmarks and between the timer curve's points.
"""

from __future__ import annotations

import asyncio


def raise_if_interrupted() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
