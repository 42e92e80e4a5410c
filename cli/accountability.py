"""`rectify accountability list|show|explain|decide`: proceedings opened when a case reaches 四问责.

`explain` and `decide` are built from the command table, like the case commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rectify.cli.commands import register
from rectify.cli.common import JsonOpt, console, emit, load_city, run_with_store, settings
from rectify.domain.accountability import ProceedingStatus
from rectify.domain.command_table import Stream

app = typer.Typer(help="问责: proceedings against units whose cases reached the top rung.", no_args_is_help=True)
IdArg = Annotated[str, typer.Argument(help="Proceeding id (acc-…).")]


@app.command("list")
def list_proceedings(
    unit: Annotated[str | None, typer.Option(help="Only this unit's.")] = None,
    status: Annotated[ProceedingStatus | None, typer.Option(help="Only those in this status.")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Only those of this case.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Proceedings, oldest first."""
    from rectify import views
    from rectify.cli.inputs import check_filters

    check_filters(load_city(settings()), units={"--unit": unit})
    wanted = status.value if status else None
    rows = run_with_store(lambda store: store.list_proceedings(unit=unit, status=wanted, case_id=case))

    def render(rows: list) -> None:
        table = Table(title=f"accountability proceedings ({len(rows)})")
        for column in ("proceeding", "unit", "status", "outcome", "points", "opened", "explanation due"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                r.proceeding_id,
                r.unit,
                r.status,
                r.outcome or "—",
                f"{r.points:g}",
                views.local(r.opened_at),
                views.local(r.explanation_due_at),
            )
        console.print(table)

    emit(rows, as_json, render)


@app.command()
def show(proceeding_id: IdArg, as_json: JsonOpt = False) -> None:
    """A proceeding's state and every step, with who and when."""
    from rectify import views
    from rectify.cli.reads import events_of
    from rectify.client import CaseNotFound
    from rectify.domain.accountability import fold_proceeding
    from rectify.domain.events import PROCEEDING_PREFIX

    if not proceeding_id.startswith(PROCEEDING_PREFIX):
        raise CaseNotFound(proceeding_id)
    events = run_with_store(lambda store: events_of(store, proceeding_id))
    state = fold_proceeding(events)

    def render(_: object) -> None:
        due = views.local(state.explanation_due_at)
        console.print(
            f"proceeding [bold]{state.proceeding_id}[/bold] on case {state.subject_case_id}: unit {state.unit} "
            f"({state.responsible_role or '—'}), {state.status}; explanation due {due}"
        )
        views.print_history(console, events)

    emit(
        {"state": state.model_dump(mode="json"), "events": [e.model_dump(mode="json") for e in events]}, as_json, render
    )


register(app, Stream.PROCEEDING)
