"""`rectify accountability list|show|explain|decide`: proceedings opened when a case reaches 四问责."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.domain.accountability import ProceedingStatus

accountability_app = typer.Typer(
    help="问责: proceedings against units whose cases reached the top rung.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
IdArg = Annotated[str, typer.Argument(help="Proceeding id (acc-…).")]


def _cli() -> Any:
    from rectify import cli

    return cli


@accountability_app.command("list")
def list_(
    unit: Annotated[str | None, typer.Option(help="Only this unit's.")] = None,
    status: Annotated[ProceedingStatus | None, typer.Option(help="Only those in this status.")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Only those of this case.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Proceedings, oldest first."""
    cli = _cli()
    from rectify.cli_inputs import check_filters

    check_filters(cli.load_city(cli.settings()), units={"--unit": unit})
    wanted = status.value if status else None
    rows = cli.run_with_store(lambda store: store.list_proceedings(unit=unit, status=wanted, case_id=case))

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
                cli.views.local(r.opened_at),
                cli.views.local(r.explanation_due_at),
            )
        cli.console.print(table)

    cli.emit(rows, as_json, render)


@accountability_app.command()
def show(proceeding_id: IdArg, as_json: JsonOpt = False) -> None:
    """A proceeding's state and every step, with who and when."""
    cli = _cli()
    from rectify.client import CaseNotFound
    from rectify.domain.accountability import fold_proceeding

    events = cli.run_with_store(lambda store: store.load(proceeding_id))
    if not events or not proceeding_id.startswith("acc-"):
        raise CaseNotFound(proceeding_id)
    state = fold_proceeding(events)
    if as_json:
        cli.emit(
            {"state": state.model_dump(mode="json"), "events": [e.model_dump(mode="json") for e in events]}, True, print
        )
        return
    due = cli.views.local(state.explanation_due_at)
    cli.console.print(
        f"proceeding [bold]{state.proceeding_id}[/bold] on case {state.subject_case_id}: unit {state.unit} "
        f"({state.responsible_role or '—'}), {state.status}; explanation due {due}"
    )
    cli.views.print_history(cli.console, events)


@accountability_app.command()
def explain(
    proceeding_id: IdArg,
    unit: Annotated[str, typer.Option(help="The unit under proceeding.")],
    text: Annotated[str, typer.Option(help="The written explanation (说明).")],
    as_json: JsonOpt = False,
) -> None:
    """The unit's written explanation."""
    from rectify.domain.types import Role

    cli = _cli()
    result = cli.run_with_client(lambda c: c.explain(proceeding_id, cli.actor(unit, Role.UNIT), text))
    cli.emit(result, as_json, lambda r: cli.console.print(f"{proceeding_id}: {r.state.status}"))


@accountability_app.command()
def decide(
    proceeding_id: IdArg,
    outcome: Annotated[str, typer.Option(help="no_fault, interview (约谈), public_criticism (通报批评), discipline.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    reviewer: Annotated[str, typer.Option("--as", help="The reviewing office.")] = "office_inspection",
    as_json: JsonOpt = False,
) -> None:
    """A reviewer's decision; it closes the proceeding and its points count against the unit."""
    from rectify.domain.accountability import Outcome
    from rectify.domain.types import Role

    try:
        chosen = Outcome(outcome)
    except ValueError:
        raise ValueError(f"--outcome {outcome!r}: use one of {', '.join(o.value for o in Outcome)}") from None
    cli = _cli()
    result = cli.run_with_client(
        lambda c: c.decide_accountability(proceeding_id, cli.actor(reviewer, Role.REVIEWER), chosen, reason)
    )
    cli.emit(result, as_json, lambda r: cli.console.print(f"{proceeding_id}: {r.state.outcome} → {r.state.status}"))
