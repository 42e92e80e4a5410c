"""`rectify ranking weekly|unit|quarter`: 一周一排名, a unit's indicators, 一季度一考核 (docs/indicators.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.bulletins import words
from rectify.bulletins.words import INDICATOR
from rectify.cli.common import JsonOpt, UrlOpt, console, emit, load_city, run_with_store, settings

#: The ranking tables' figures after score and change, headed in Chinese as the bulletin heads them.
_FIGURES = ("received", "closed", "closed_on_time", "on_time_rate", "points", "open_overdue")
#: One unit's figures (`rectify ranking unit`), named as docs/indicators.md names them.
UNIT_FIGURES = {
    **INDICATOR,
    "correctly_dispatched": "派遣准确",
    "claimed": "认领",
    "claimed_on_time": "按时认领",
    "claim_on_time_rate": "按时认领率",
    "rework": "返工",
    "disputed": "退单",
    "rungs": "升级次数",
    "median_hours_to_close": "办结用时中位数（小时）",
    "mean_hours_to_close": "平均办结用时（小时）",
    "score": "得分",
}


def _group(group: str) -> str:
    return words.GROUP.get(group, group)


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
            _ranking_table(f"{words.week_title(result['period']['label'])} · {_group(group)}排名", rows)

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
        title = f"{words.quarter_title(result['period']['label'])}（{result['weeks']} 周）"
        for group, rows in result["groups"].items():
            _ranking_table(f"{title} · {_group(group)}考核", rows, quarter=True)

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
        title = f"{result['name']}（{unit_id}）· {words.span(period['from'], period['to'])}"
        table = Table(title=title, show_header=False)
        for key, value in result.items():
            if key not in ("unit", "name", "period"):
                shown = words.percent(value) if key.endswith("_rate") else "—" if value is None else str(value)
                table.add_row(UNIT_FIGURES.get(key, key), shown)
        console.print(table)

    emit(result, as_json, render)


def _ranking_table(title: str, rows: list[dict], *, quarter: bool = False) -> None:
    table = Table(title=title, title_justify="left")
    columns = ["名次", "单位", "得分", "周均得分" if quarter else "较上周", *(INDICATOR[k] for k in _FIGURES)]
    for column in columns:
        table.add_column(column, justify="left" if column == "单位" else "right")
    for r in rows:
        extra = r.get("mean_weekly_score") if quarter else r.get("change")
        figures = (
            str(r["received"]),
            str(r["closed"]),
            str(r["closed_on_time"]),
            words.percent(words.measured(r, "on_time_rate")),
            f"{r['points']:g}",
            str(r["open_overdue"]),
        )
        extra_text = words.arrow(extra) if not quarter else "—" if extra is None else f"{extra:.2f}"
        table.add_row(str(r["place"]), f"{r['name']}（{r['unit']}）", f"{r['score']:.2f}", extra_text, *figures)
    console.print(table)
