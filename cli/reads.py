"""`rectify show|list|history|inbox`: cases and a unit's notices, from the live workflow or the store."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rectify.cli.common import CaseArg, JsonOpt, console, emit, load_city, run_with_client, run_with_store, settings
from rectify.domain.types import CaseStatus

app = typer.Typer()


@app.command()
def show(case_id: CaseArg, as_json: JsonOpt = False) -> None:
    """One case as it stands: from its live workflow, or folded from its events when no Temporal is running."""
    from rectify import views

    if settings().temporal_address:
        view = run_with_client(lambda c: c.get(case_id))
    else:
        view = run_with_store(lambda store: _view_from_store(store, case_id))
    emit(view, as_json, lambda v: views.print_case_view(console, v))


async def _view_from_store(store: Any, case_id: str) -> Any:
    from rectify.client import CaseView
    from rectify.domain.state import fold

    return CaseView(state=fold(await events_of(store, case_id)), row=await store.get_case(case_id), live=False)


async def events_of(store: Any, case_id: str) -> list[Any]:
    """Every event of a case (or a proceeding), or CaseNotFound."""
    from rectify.client import CaseNotFound

    events = await store.load(case_id)
    if not events:
        raise CaseNotFound(case_id)
    return events


@app.command("list")
def list_cases(
    status: Annotated[CaseStatus | None, typer.Option(help="Filter by status.")] = None,
    category: Annotated[str | None, typer.Option(help="Filter by category code.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Filter by lead unit.")] = None,
    territory: Annotated[str | None, typer.Option(help="Filter by territorial unit.")] = None,
    grid: Annotated[str | None, typer.Option(help="Filter by grid.")] = None,
    level: Annotated[int | None, typer.Option(help="Filter by escalation level.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many rows.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Cases from the read model, newest first (needs only the database)."""
    from rectify import views
    from rectify.cli.inputs import check_filters

    check_filters(
        load_city(settings()),
        category=category,
        units={"--unit": unit, "--territory": territory},
        grid=grid,
        level=level,
    )
    rows = run_with_store(
        lambda c: c.list_cases(
            status=status.value if status else None,
            category=category,
            lead_unit=unit,
            territorial_unit=territory,
            grid_id=grid,
            escalation_level=level,
            limit=limit,
        )
    )
    emit(rows, as_json, lambda r: views.print_case_table(console, r))


@app.command()
def history(case_id: CaseArg, as_json: JsonOpt = False) -> None:
    """Every event of a case, in order, with who and when (needs only the database)."""
    from rectify import views

    events = run_with_store(lambda store: events_of(store, case_id))
    emit(events, as_json, lambda e: views.print_history(console, e))


@app.command()
def inbox(
    unit: Annotated[str, typer.Argument(help="Unit id.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """A unit's notifications: new dispatches, missed deadlines, every rung of the ladder."""
    from rectify import views
    from rectify.cli.inputs import check_filters

    check_filters(load_city(settings()), units={"UNIT": unit})
    rows = run_with_client(lambda c: c.store.inbox(unit, limit))
    emit(rows, as_json, lambda r: views.print_inbox(console, unit, r))
