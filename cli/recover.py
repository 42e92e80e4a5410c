"""`rectify recover`: start the workflows of what the store holds open and Temporal does not run (client/recover.py).

`rectify up` runs the same at start. Exit codes: 0 done, 1 something could not be started (listed), 3 unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from rectify.cli.common import EXIT_REJECTED, JsonOpt, console, emit, err, run_with_client

app = typer.Typer()


@app.command()
def recover(
    restart_ended: Annotated[
        bool,
        typer.Option(
            "--restart-ended",
            help="Also start again what Temporal ended (failed, terminated) but the store holds open.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Start the workflow of every case, proceeding and round that the store holds open but Temporal does not run.

    For a Temporal cluster that lost its persistence, a move to another cluster, or the demo's cases (run on
    the time-skipping server). Each starts from the state folded from its events; its deadlines and rungs
    follow from that state and the current time, and a rung already recorded is never raised again. The round
    Schedules are created if the cluster lacks them, and the rounds of their last firing, if it was lost with the
    cluster, are started. Running it again starts nothing new. `rectify up` runs it at start."""

    async def work(client: Any) -> Any:
        with progress_on(err) as progress:
            return await client.recover(restart_ended=restart_ended, progress=progress)

    recovery = run_with_client(work)
    emit(recovery.as_dict(), as_json, lambda _: print_recovery(console, recovery))
    if not recovery.ok:
        raise typer.Exit(EXIT_REJECTED)


@contextmanager
def progress_on(out: Console) -> Iterator[Any]:
    """A progress bar per pass (cases, proceedings, referrals, rounds, schedules, plans) on `out`; yields the
    callback recovery calls."""
    bar = Progress(TextColumn("recover {task.description}"), BarColumn(), MofNCompleteColumn(), console=out)
    tasks: dict[str, Any] = {}

    def update(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(what, total=total)
        bar.update(tasks[what], completed=done)

    with bar:
        yield update


def summary_line(recovery: Any) -> str:
    """One line: what was started, and what was already running, per kind."""
    parts = []
    for kind, counts in recovery.counts().items():
        seen = {outcome: n for outcome, n in counts.items() if n}
        if seen:
            parts.append(f"{kind}s " + ", ".join(f"{n} {outcome}" for outcome, n in seen.items()))
    return "recover: " + ("; ".join(parts) if parts else "nothing open in the store")


def print_recovery(out: Console, recovery: Any) -> None:
    out.print(summary_line(recovery))
    for outcome, colour, note in (
        ("ended", "yellow", "Temporal ended it while the store holds it open; --restart-ended starts it again"),
        ("failed", "red", "could not be started"),
    ):
        listed = recovery.as_dict()[outcome]
        if listed:
            out.print(f"[{colour}]{len(listed)} {outcome}[/{colour}] ({note}):")
            for item in listed:
                out.print(f"  {item['kind']} {item['id']}: {item['detail']}")
