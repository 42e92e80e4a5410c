"""`rectify simulate` and `rectify demo`: check the options, run, print what came out."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rectify.city import City
from rectify.cli.common import JsonOpt, console, emit, err, load_city
from rectify.config import Settings
from rectify.sim.charts import ranking
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, SimulationError, next_monday
from rectify.sim.run import simulate as play

#: Above this the time-skipping server slows sharply (open workflows with timers pile up): say so.
TEMPORAL_COMFORT = 100

app = typer.Typer()


@app.command()
def demo(
    walkthrough: Annotated[
        bool, typer.Option("--walkthrough", help="Instead: ten cases through every path on the dev server.")
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder (default .rectify/).")] = None,
    out: Annotated[Path, typer.Option(help="Where the report goes.")] = Path("out"),
    days: Annotated[int, typer.Option(min=1, max=31, help="Simulated days (fewer: a quicker demo).")] = 12,
    reports_per_day: Annotated[int, typer.Option(min=1, max=TEMPORAL_COMFORT, help="Average reports a day.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Twelve simulated days in the sample city on the real engine (worker, workflows, store), then its report,
    and staff accounts to sign in with at / after `rectify up` (printed at the end, passwords included)."""
    if walkthrough:
        from rectify.demo import run_demo

        run_interruptible(run_demo(console, data_dir))
        return
    from rectify.web.demo_accounts import create_demo_accounts

    s = Settings.from_env(os.environ)
    city = load_city(s)
    accounts: list[Any] = []

    async def make_accounts(store: Any) -> None:
        accounts.extend(await create_demo_accounts(store.pool, city.policy))

    summary = run_simulation(
        err if as_json else console,
        city,
        engine="temporal",
        days=days,
        reports_per_day=reports_per_day,
        seed=1,
        start=None,
        out=out,
        data_dir=data_dir or s.data_dir,
        database_url=None,
        then=make_accounts,
        rounds=True,  # the battle map shows green, amber and red points after it
    )
    shown = summary | {"accounts": [a.as_dict() for a in accounts]}
    emit(shown, as_json, lambda _: print_accounts(console, accounts, s.api_port))


def print_accounts(console: Console, accounts: list[Any], port: int) -> None:
    """The demo's accounts, and the way in: `rectify up`, then sign in at / (passwords are shown only here)."""
    table = Table(title="staff accounts for the web pages (passwords shown once)", title_justify="left")
    for column in ("name", "password", "role", "unit"):
        table.add_column(column)
    for a in accounts:
        table.add_row(a.name, a.password, a.role, f"{a.unit_name} ({a.unit_id})")
    console.print(table)
    console.print(
        f"Next: [bold]rectify up[/bold] (or make up), then open http://127.0.0.1:{port}/ and sign in. The demo's "
        "open cases are started on the dev server first (rectify recover), so they take commands. "
        "A lost password: rectify users reset-password NAME."
    )


@app.command()
def simulate(
    days: Annotated[int, typer.Option(min=1, max=366, help="Simulated days.")] = 7,
    seed: Annotated[int, typer.Option(help="Same seed, same run, same numbers.")] = 1,
    reports_per_day: Annotated[int, typer.Option(min=1, max=100_000, help="Average reports a day.")] = 50,
    engine: Annotated[
        str, typer.Option(help="temporal: the real worker on the time-skipping server; direct: in-process, fast.")
    ] = "temporal",
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: the coming Monday).")] = None,
    out: Annotated[Path, typer.Option(help="Where summary.json and the report go.")] = Path("out"),
    data_dir: Annotated[Path | None, typer.Option(help="Data folder of the embedded PostgreSQL.")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Write to this (empty) PostgreSQL database instead of the embedded one.")
    ] = None,
    rounds: Annotated[bool, typer.Option(help="Inspection rounds over the city's points too (巡查).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Play a stretch of time in the city: reports from every channel, units acting by a seeded model."""
    s = Settings.from_env(os.environ)
    simulate_and_print(
        load_city(s),
        as_json,
        engine=engine,
        days=days,
        reports_per_day=reports_per_day,
        seed=seed,
        start=start,
        out=out,
        data_dir=data_dir or s.data_dir,
        database_url=database_url,
        rounds=rounds,
    )


def simulate_and_print(city: City, as_json: bool, **options: Any) -> None:
    """With `--json`, the progress goes to stderr and summary.json to stdout."""
    summary = run_simulation(err if as_json else console, city, **options)
    emit(summary, as_json, lambda _: None)


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
    then: Callable[[Any], Awaitable[None]] | None = None,
    rounds: bool = False,
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
    config = SimConfig(
        seed=seed, days=days, reports_per_day=reports_per_day, start=parse_start(start, city), rounds=rounds
    )
    options = SimOptions(
        config=config, engine=engine_name, out_dir=out, data_dir=data_dir, database_url=database_url, then=then
    )
    where = database_url or f"the embedded PostgreSQL in {data_dir}/postgres (earlier simulated data there is replaced)"
    console.print(
        f"[bold]Simulating[/bold] {days} days in {city.policy.city} from {config.start} (seed {seed}, about "
        f"{reports_per_day} reports a day, engine {engine_name}); events go to {where}"
    )
    started = time.monotonic()
    summary = run_interruptible(play(city, options, console))
    print_summary(console, summary)
    checkpoint = summary["checkpoint"]
    console.print(
        f"audit checkpoint {checkpoint['number']} over {checkpoint['cases']} cases at position "
        f"{checkpoint['position']}: root [bold]{checkpoint['root']}[/bold]"
    )
    console.print(
        f"finished in {time.monotonic() - started:.1f} s; wrote {out / 'summary.json'}, {out / 'summary.md'}, "
        f"{out / 'summary.html'} and charts; everything it started is stopped."
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
