"""The CLI side of `rectify simulate` and `rectify demo`: check the options, run, print what came out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rectify.city import City
from rectify.sim.core import SimConfig
from rectify.sim.report import ranking
from rectify.sim.run import EngineName, SimOptions, SimulationError, next_monday, simulate

#: Above this the time-skipping server slows sharply (open workflows with timers pile up): say so.
TEMPORAL_COMFORT = 100


def run_interruptible(work: Coroutine[Any, Any, Any]) -> Any:
    """`asyncio.run`, where a Ctrl-C stays a Ctrl-C (KeyboardInterrupt, exit 130) even when the call it cut
    short reports it as its own error: Temporal's client turns a cancelled update into
    WorkflowUpdateRPCTimeoutOrCancelledError, which read as an internal error."""

    async def guarded() -> Any:
        try:
            return await work
        except Exception:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # asyncio.run cancels the main task on SIGINT
                raise asyncio.CancelledError from None
            raise

    return asyncio.run(guarded())


def parse_start(text: str | None, city: City) -> date:
    if text is None:
        return next_monday(datetime.now(city.policy.calendar.zone).date())
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SimulationError(f"--start {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-30") from None


def run_simulation(
    console: Console,
    city: City,
    *,
    engine: str,
    days: int,
    reports_per_day: int,
    seed: int,
    start: str | None,
    out: Path,
    data_dir: Path,
    database_url: str | None,
) -> dict:
    try:
        engine_name = EngineName(engine)
    except ValueError:
        raise SimulationError(f"--engine {engine!r} is not known; use temporal or direct") from None
    if engine_name is EngineName.TEMPORAL and reports_per_day > TEMPORAL_COMFORT:
        console.print(
            f"[yellow]note[/yellow]: {reports_per_day} reports a day is heavy for the time-skipping server "
            "(it slows as open workflows with timers pile up); --engine direct plays city-scale loads"
        )
    config = SimConfig(seed=seed, days=days, reports_per_day=reports_per_day, start=parse_start(start, city))
    options = SimOptions(config=config, engine=engine_name, out_dir=out, data_dir=data_dir, database_url=database_url)
    where = database_url or f"the embedded PostgreSQL in {data_dir}/postgres (earlier simulated data there is replaced)"
    console.print(
        f"[bold]Simulating[/bold] {days} days in {city.policy.city} from {config.start} (seed {seed}, about "
        f"{reports_per_day} reports a day, engine {engine_name}); events go to {where}"
    )
    started = time.monotonic()
    summary = run_interruptible(simulate(city, options, console))
    print_summary(console, summary)
    checkpoint = summary["checkpoint"]
    console.print(
        f"audit checkpoint {checkpoint['number']} over {checkpoint['cases']} cases at position "
        f"{checkpoint['position']}: root [bold]{checkpoint['root']}[/bold]"
    )
    console.print(
        f"finished in {time.monotonic() - started:.1f} s; wrote {out / 'summary.json'}, {out / 'report.md'}, "
        f"{out / 'report.html'} and charts; everything it started is stopped."
    )
    return summary


def print_summary(console: Console, summary: dict) -> None:
    totals = summary["totals"]
    rate = f"{100 * totals['on_time_rate']:.1f}%" if totals["on_time_rate"] is not None else "—"
    rungs = " · ".join(f"{rung} {n}" for rung, n in totals["escalations"].items())
    console.print(
        f"reported {totals['reported']} · closed {totals['closed']} ({rate} on time) · open at the end "
        f"{totals['open_at_end']} · rungs {rungs} · points {totals['points']}"
    )
    table = Table(title="units, best first (closed on time, then fewer points)", title_justify="left")
    for column in ("#", "unit", "received", "closed", "on time", "rate", "rungs", "points"):
        table.add_column(column, justify="left" if column == "unit" else "right")
    ranked = ranking(summary)
    shown = ranked if len(ranked) <= 12 else ranked[:6] + ranked[-6:]
    for place, uid, u in shown:
        rate = f"{100 * u['on_time_rate']:.0f}%" if u["on_time_rate"] is not None else "—"
        rungs_reached = str(sum(u["escalations"].values()))
        figures = (str(u["received"]), str(u["closed"]), str(u["closed_on_time"]), rate, rungs_reached)
        table.add_row(str(place), f"{u['name']} ({uid})", *figures, f"{u['points']:g}")
    console.print(table)
