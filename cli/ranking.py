"""`rectify ranking weekly|unit|quarter`: 一周一排名, a unit's indicators, 一季度一考核 (docs/indicators.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import JsonOpt, UrlOpt, console, emit, load_city, run_with_store, settings

app = typer.Typer(help="Rankings and indicators: weekly, one unit's, quarterly.", no_args_is_help=True)


def _policy() -> Any:
    return load_city(settings()).policy


@app.command()
def weekly(
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W47.")],
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """一周一排名: territorial units and departments ranked by the policy's score, with change of place."""
    from rectify.bulletins import ranking as reports

    policy = _policy()
    result = run_with_store(lambda store: reports.weekly(store, policy, week), database_url)

    def render(result: dict) -> None:
        for group, rows in result["groups"].items():
            _ranking_table(f"{result['period']['label']} · {group}", rows)

    emit(result, as_json, render)


@app.command()
def quarter(
    label: Annotated[str, typer.Argument(help="Quarter, e.g. 2026-Q4.")],
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """一季度一考核: the quarter's indicators and score, and the mean of its weekly scores."""
    from rectify.bulletins import ranking as reports

    policy = _policy()
    result = run_with_store(lambda store: reports.quarterly(store, policy, label), database_url)

    def render(result: dict) -> None:
        for group, rows in result["groups"].items():
            _ranking_table(f"{result['period']['label']} ({result['weeks']} weeks) · {group}", rows, quarter=True)

    emit(result, as_json, render)


@app.command()
def unit(
    unit_id: Annotated[str, typer.Argument(help="Unit id, e.g. st_guanyinqiao.")],
    from_: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One unit's indicators over a period (docs/indicators.md gives every formula)."""
    from rectify.bulletins import ranking as reports

    policy = _policy()
    result = run_with_store(lambda store: reports.unit_figures(store, policy, unit_id, from_, to), database_url)

    def render(result: dict) -> None:
        period = result["period"]
        table = Table(title=f"{result['name']} ({unit_id}) · {period['from']} to {period['to']}", show_header=False)
        for key, value in result.items():
            if key not in ("unit", "name", "period"):
                table.add_row(key, f"{value:.1%}" if key.endswith("_rate") else str(value))
        console.print(table)

    emit(result, as_json, render)


def _ranking_table(title: str, rows: list[dict], *, quarter: bool = False) -> None:
    table = Table(title=title, title_justify="left")
    columns = [
        "#",
        "unit",
        "score",
        "mean weekly" if quarter else "change",
        "received",
        "closed",
        "on time",
        "on-time rate",
        "points",
        "open overdue",
    ]
    for column in columns:
        table.add_column(column, justify="left" if column == "unit" else "right")
    for r in rows:
        extra = r.get("mean_weekly_score") if quarter else r.get("change")
        figures = (
            str(r["received"]),
            str(r["closed"]),
            str(r["closed_on_time"]),
            f"{r['on_time_rate']:.1%}",
            f"{r['points']:g}",
            str(r["open_overdue"]),
        )
        extra_text = "—" if extra is None else str(extra)
        table.add_row(str(r["place"]), f"{r['name']} ({r['unit']})", f"{r['score']:.2f}", extra_text, *figures)
    console.print(table)
