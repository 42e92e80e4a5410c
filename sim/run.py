"""`rectify simulate`: set up the store (and for the temporal engine, the servers), play, summarise, draw.

Everything it starts (embedded PostgreSQL, the time-skipping server, the worker) is stopped when it
ends, on Ctrl-C and on failure too.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rectify.city import City
from rectify.devstack import TEMPORAL_DB, EmbeddedPostgres, TestStack
from rectify.domain.checkpoints import Checkpoint
from rectify.sim.core import Engine, SimConfig, SimCounts, Simulation
from rectify.sim.core import Progress as Update
from rectify.sim.direct import DirectEngine
from rectify.sim.intake import SIM_KEY_PREFIX
from rectify.sim.summary import summarize_store
from rectify.store import EventStore, admin, migrate
from rectify.store.checkpoints import record_checkpoint
from rectify.workflows.checkpoint_workflow import CHECKPOINT_WORKFLOW_ID, CheckpointWorkflow


class EngineName(StrEnum):
    TEMPORAL = "temporal"
    DIRECT = "direct"


@dataclass(frozen=True)
class SimOptions:
    config: SimConfig
    engine: EngineName
    out_dir: Path
    data_dir: Path
    #: A PostgreSQL database to write to instead of the embedded one (it must hold no events yet).
    database_url: str | None = None
    charts: bool = True
    #: Called with the store once the run is summarised, before its servers stop (the demo makes accounts).
    then: Callable[[EventStore], Awaitable[None]] | None = None


class SimulationError(RuntimeError):
    """A simulation could not start or finish; the message says why and what to do."""


def next_monday(today: date) -> date:
    """The default start: the coming Monday, so a run covers whole working weeks from the first day."""
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


@contextlib.asynccontextmanager
async def _database(options: SimOptions) -> AsyncIterator[str]:
    """The embedded PostgreSQL under the data folder (the one `rectify up` uses), or the URL given.

    The embedded database is cleared first, but only when everything in it came from earlier simulations:
    a folder holding real cases is refused, never wiped.
    """
    if options.database_url:
        yield options.database_url
        return
    # fsync off: a simulation is rebuilt from its seed, and it refuses a folder holding real cases.
    pg = EmbeddedPostgres(options.data_dir.resolve() / "postgres", fsync=False)
    pg.start()
    try:
        await _reset_for_simulation(pg.url, options.data_dir)
        _forget_workflows(options.data_dir)
        yield pg.url
    finally:
        pg.stop()


async def _reset_for_simulation(url: str, data_dir: Path) -> None:
    if real := await admin.cases_not_from(url, SIM_KEY_PREFIX):
        raise SimulationError(
            f"{data_dir} holds {real} cases that did not come from a simulation; a simulation replaces "
            "the data there, so give it another --data-dir (or remove that folder yourself)"
        )
    await admin.drop_schema(url)


def _forget_workflows(data_dir: Path) -> None:
    """The dev server's database beside it (from `rectify up`) runs the workflows of the cases just replaced: it
    goes too, so that `rectify up` starts afresh and `rectify recover` starts the new cases. The folder's
    PostgreSQL is ours now, so no `rectify up` is using it."""
    for file in data_dir.resolve().glob(f"{TEMPORAL_DB}*"):
        file.unlink()


async def _require_empty(store: EventStore) -> None:
    if await admin.holds_events(store.pool):
        raise SimulationError("the database already holds events; a simulation needs an empty one")


def _progress(console: Console, config: SimConfig, city: City) -> tuple[Progress, Update]:
    start = config.start_at(city)
    total = (config.end_at(city) - start).total_seconds()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TextColumn("[dim]{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("simulating", total=total, clock="", counts="")
    zone = city.policy.calendar.zone

    def update(at: datetime, counts: SimCounts) -> None:
        progress.update(
            task,
            completed=min((at - start).total_seconds(), total),
            clock=at.astimezone(zone).strftime("%a %d %b %H:%M"),
            counts=f"{counts.reports} reports · {counts.steps} steps · {counts.ticks} fired",
        )

    return progress, update


async def simulate(city: City, options: SimOptions, console: Console) -> dict:
    """Play the run, write `summary.json` (and the report), and return the summary."""
    config = options.config
    if options.engine is EngineName.TEMPORAL:
        await _check_temporal_start(city, config)  # before anything starts
    async with _database(options) as database_url:
        progress, update = _progress(console, config, city)
        if options.engine is EngineName.DIRECT:
            store = await EventStore.connect(database_url)
            try:
                await migrate(store.pool)
                await _require_empty(store)
                with progress:
                    counts = await Simulation(city, config, DirectEngine(store, city, options.out_dir), update).run()
                checkpoint = await record_checkpoint(store.pool)
                summary = await _summarise(store, city, options, counts, checkpoint)
                if options.then is not None:
                    await options.then(store)
            finally:
                await store.close()
        else:
            stack = TestStack(database_url=database_url, city_dir=city.source_dir, bulletin_dir=options.out_dir)
            async with stack:
                await _require_empty(stack.store)
                engine = _temporal_engine(stack)
                with progress:
                    counts = await Simulation(city, config, engine, update).run()
                # Waiting on a result would let the time-skipping server run the clock on past the end.
                with stack.env.auto_time_skipping_disabled():
                    checkpoint = await stack.env.client.execute_workflow(
                        CheckpointWorkflow.run, id=CHECKPOINT_WORKFLOW_ID, task_queue=stack.task_queue
                    )
                summary = await _summarise(stack.store, city, options, counts, checkpoint)
                if options.then is not None:
                    await options.then(stack.store)
    options.out_dir.mkdir(parents=True, exist_ok=True)
    (options.out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    if options.charts:
        from rectify.sim.charts import write_summary

        write_summary(summary, options.out_dir)
    return summary


def _temporal_engine(stack: TestStack) -> Engine:
    from rectify.sim.temporal import TemporalEngine

    return TemporalEngine(stack.env, stack.client)


async def _check_temporal_start(city: City, config: SimConfig) -> None:
    today = datetime.now(city.policy.calendar.zone).date()
    if config.start < today:
        raise SimulationError(
            f"the temporal engine cannot start in the past ({config.start}): Temporal's clock only moves forward "
            f"from today ({today}); pick --start {today} or later, or use --engine direct"
        )


async def _summarise(
    store: EventStore, city: City, options: SimOptions, counts: SimCounts, checkpoint: Checkpoint
) -> dict:
    figures = await summarize_store(store, city.policy, until=options.config.end_at(city))
    config = options.config
    return {
        "simulation": {
            "seed": config.seed,
            "days": config.days,
            "reports_per_day": config.reports_per_day,
            "start": config.start.isoformat(),
            "engine": options.engine.value,
            "city": city.policy.city,
            "policy_version": city.policy.version,
            "refused_steps": dict(sorted(counts.refused.items())),
            "bulletins": counts.bulletins,
        },
        **figures,
        # Where others keep a copy: the root lets anyone check later that these events were not changed.
        "checkpoint": checkpoint.model_dump(mode="json", include={"number", "position", "cases", "root"}),
    }


__all__ = ["EngineName", "SimOptions", "SimulationError", "asdict", "next_monday", "simulate"]
