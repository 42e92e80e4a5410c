"""`rectify points list|show`: the inspection points (实地考察点位) and their readiness: the battle map, in text."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import JsonOpt, console, emit, load_city, run_with_client, settings
from rectify.cli.inputs import _choose  # the same refusal as every filter of the city's names

app = typer.Typer(help="实地考察点位: the points, their readiness and their inspection records.", no_args_is_help=True)
#: The battle map's colours, in a terminal.
COLOUR = {"ready": "green", "stale": "yellow", "not_ready": "red"}


@app.command("list")
def list_points(
    leader: Annotated[str | None, typer.Option(help="Only this leader's points.")] = None,
    task_group: Annotated[str | None, typer.Option("--task-group", help="Only this task group's.")] = None,
    unit: Annotated[str | None, typer.Option(help="Only the points this unit answers for (属地 or 包保).")] = None,
    category: Annotated[str | None, typer.Option(help="Only points of this point category.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every point with its readiness now: green ready, yellow not checked within the window, red failing."""
    from rectify import views
    from rectify.domain.battle_map import select
    from rectify.domain.points import READINESS_LABELS, REASON_LABELS

    city = load_city(settings())
    rules = city.policy.inspection
    _choose("--leader", leader, rules.leaders, "a leader")
    _choose("--task-group", task_group, rules.task_groups, "a task group")
    _choose("--unit", unit, city.policy.units, "a unit")
    _choose("--category", category, rules.point_categories, "a point category")

    async def action(client: Any) -> Any:
        board = await client.battle_map()
        return select(board, leader=leader, task_group=task_group, unit=unit, category=category)

    def render(rows: list) -> None:
        table = Table(title=f"inspection points ({len(rows)})")
        for column in ("point", "name", "category", "leader", "unit", "readiness", "why", "last checked"):
            table.add_column(column, overflow="fold")
        for row in rows:
            p, level = row.point, row.readiness.level
            table.add_row(
                p.point_id,
                p.name,
                rules.point_categories[p.category].name,
                rules.leaders[p.leader].name,
                p.territorial_unit,
                f"[{COLOUR[level]}]{READINESS_LABELS[level]}[/]",
                "、".join(REASON_LABELS[r] for r in row.readiness.reasons) or "—",
                views.local(row.last_checked_at),
            )
        console.print(table)

    emit(run_with_client(action), as_json, render)


@app.command()
def show(
    point_id: Annotated[str, typer.Argument(help="Point id.")],
    as_json: JsonOpt = False,
) -> None:
    """A point: who answers for it, its readiness, and every inspection of it with the cases its failures opened."""
    from rectify import views
    from rectify.domain.points import READINESS_LABELS
    from rectify.store import inspections

    city = load_city(settings())
    _choose("POINT_ID", point_id, city.points, "a point")

    async def action(client: Any) -> dict[str, Any]:
        [row] = [b for b in await client.battle_map() if b.point.point_id == point_id]
        return {"point": row, "records": await inspections.point_records(client.store.pool, point_id)}

    def render(found: dict[str, Any]) -> None:
        row, point = found["point"], found["point"].point
        rules = city.policy.inspection
        console.print(
            f"[bold]{point.point_id}[/bold] {point.name} · {rules.point_categories[point.category].name} · "
            f"{rules.leaders[point.leader].name} · {rules.task_groups[point.task_group].name} · "
            f"{point.territorial_unit} · 包保 {', '.join(point.guarantee_units) or '—'}"
        )
        level = row.readiness.level
        console.print(f"readiness: [{COLOUR[level]}]{READINESS_LABELS[level]}[/] · open cases: {len(row.open_cases)}")
        for event in found["records"]:
            when = views.local(event.occurred_at)
            if event.type == "point_inspected":
                failed = [r.item for r in event.results if not r.passed]
                verdict = f"failed {', '.join(failed)}" if failed else "all passed"
                console.print(f"  {when}  round {event.round_id} by {event.actor.unit_id}: {verdict}")
            else:
                console.print(f"  {when}  {event.item} opened case {event.case_id_opened}")

    emit(run_with_client(action), as_json, render)
