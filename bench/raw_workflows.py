"""The raw Temporal baselines: nothing but the SDK, so the sandbox imports nothing else.

They do what a case workflow does at the least, with the same kind of activity: the case workflow appends
through a local activity, so these run a no-op local activity where it appends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow

NOOP = "bench.noop"
#: A local activity's start-to-close budget, as the case's append (workflows/calls.py APPEND, less its retries).
LOCAL_TIMEOUT = timedelta(seconds=30)


@activity.defn(name=NOOP)
async def noop() -> None:
    return None


@workflow.defn(name="BenchCase")
class BenchCase:
    """A case at its least: opens with one local activity, answers `opened` after it, then stays open on a
    timer as a case waits for its deadline; `poke` is a no-op update, `poke_local` one that runs a local
    activity (as a command's append)."""

    def __init__(self) -> None:
        self.opened_at: datetime | None = None

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_local_activity(NOOP, start_to_close_timeout=LOCAL_TIMEOUT)
        self.opened_at = workflow.now()
        await workflow.sleep(timedelta(days=1))

    @workflow.update
    async def opened(self) -> str:
        await workflow.wait_condition(lambda: self.opened_at is not None)
        return "opened"

    @workflow.update
    async def poke(self) -> int:
        return 1

    @workflow.update
    async def poke_local(self) -> int:
        await workflow.execute_local_activity(NOOP, start_to_close_timeout=LOCAL_TIMEOUT)
        return 1


@workflow.defn(name="BenchTimer")
class BenchTimer:
    """Sleeps until each given moment, as a case waits for its deadlines; returns how late each fired (s)."""

    @workflow.run
    async def run(self, due: list[str]) -> list[float]:
        late = []
        for moment in due:
            at = datetime.fromisoformat(moment)
            await workflow.sleep(max((at - workflow.now()).total_seconds(), 0))
            late.append((workflow.now() - at).total_seconds())
        return late
