"""The raw Temporal baselines: nothing but the SDK, so the sandbox imports nothing else."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench.noop")
async def noop() -> None:
    return None


@workflow.defn(name="BenchIntake")
class BenchIntake:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity("bench.noop", start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name="BenchCommands")
class BenchCommands:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    async def poke(self) -> int:
        return 1

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@workflow.defn(name="BenchTimer")
class BenchTimer:
    """Sleeps until each given moment, as a case waits for its deadlines; returns how late each fired (s)."""

    @workflow.run
    async def run(self, due: list[str]) -> list[float]:
        from datetime import datetime

        late = []
        for moment in due:
            at = datetime.fromisoformat(moment)
            await workflow.sleep(max((at - workflow.now()).total_seconds(), 0))
            late.append((workflow.now() - at).total_seconds())
        return late
