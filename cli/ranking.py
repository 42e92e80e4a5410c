"""`rectify report weekly|unit|quarter`: rankings, unit figures and the numbered weekly bulletin.

`rectify report` with intake options (no subcommand) still files a case; see cli.report.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rectify.config import Settings

console = Console(width=None if sys.stdout.isatty() else 160)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
UrlOpt = Annotated[str | None, typer.Option("--database-url", help="Read this database.")]


def _policy() -> Any:
    from rectify.cli import load_city

    return load_city(Settings.from_env(os.environ).with_running_stack()).policy


def _store_run(work: Any, database_url: str | None) -> Any:
    from rectify.cli import run_with_store

    return run_with_store(work, database_url)


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def weekly(
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W47.")],
    out: Annotated[Path | None, typer.Option(help="Also issue the numbered bulletin (md/html/csv/png) here.")] = None,
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """一周一排名: territorial units and departments ranked by the policy's score, with change of place."""
    from rectify import reports
    from rectify.activities.bulletins import issue_bulletin

    policy = _policy()

    async def work(store: Any) -> tuple[dict, Any]:
        result = await reports.weekly(store, policy, week)
        bulletin = await issue_bulletin(store, policy, week, out) if out else None
        return result, bulletin

    result, bulletin = _store_run(work, database_url)
    if as_json:
        _print(result | ({"bulletin": bulletin.model_dump()} if bulletin else {}))
        return
    for group, rows in result["groups"].items():
        _ranking_table(f"{result['period']['label']} · {group}", rows)
    if bulletin:
        console.print(f"督查通报 第{bulletin.number}期 written to {out}: {', '.join(sorted(bulletin.files))}")


def quarter(
    label: Annotated[str, typer.Argument(help="Quarter, e.g. 2026-Q4.")],
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """一季度一考核: the quarter's indicators and score, and the mean of its weekly scores."""
    from rectify import reports

    policy = _policy()
    result = _store_run(lambda store: reports.quarterly(store, policy, label), database_url)
    if as_json:
        _print(result)
        return
    for group, rows in result["groups"].items():
        _ranking_table(f"{result['period']['label']} ({result['weeks']} weeks) · {group}", rows, quarter=True)


def unit(
    unit_id: Annotated[str, typer.Argument(help="Unit id, e.g. st_guanyinqiao.")],
    from_: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One unit's indicators over a period (docs/indicators.md gives every formula)."""
    from rectify import reports

    policy = _policy()
    result = _store_run(lambda store: reports.unit_report(store, policy, unit_id, from_, to), database_url)
    if as_json:
        _print(result)
        return
    table = Table(
        title=f"{result['name']} ({unit_id}) · {result['period']['from']} to {result['period']['to']}",
        show_header=False,
    )
    for key, value in result.items():
        if key not in ("unit", "name", "period"):
            table.add_row(key, f"{value:.1%}" if key.endswith("_rate") else str(value))
    console.print(table)


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
