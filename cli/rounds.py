"""`rectify rounds start|record|list|show`: inspection rounds (巡查). `start` and `record` are the command table's
round entries (domain/command_table.py ROUND_COMMANDS): their names, roles and help come from there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import JsonOpt, acting, console, emit, load_city, run_with_client, settings
from rectify.cli.inputs import _choose  # the same refusal as every filter of the city's names
from rectify.domain.command_table import BY_NAME, Stream
from rectify.domain.rounds import RoundStatus

app = typer.Typer(
    help="巡查: inspection rounds over the points, started by Schedules or by hand.", no_args_is_help=True
)
START, RECORD = BY_NAME[Stream.ROUND]["start"], BY_NAME[Stream.ROUND]["record"]
RoundArg = Annotated[str, typer.Argument(help="Round id (without rd-).")]
ByOpt = Annotated[str | None, typer.Option("--by", "--unit", help="The acting unit.")]


def _round_line(state: Any) -> str:
    missed = " · missed its due time" if state.missed else ""
    return (
        f"round [bold]{state.round_id}[/bold] {state.status.value}: {len(state.recorded)}/{len(state.points)} "
        f"points recorded, due {state.due_at:%Y-%m-%d %H:%M} UTC{missed}"
    )


@app.command("start", help=START.help)
def start(
    point: Annotated[list[str], typer.Option("--point", help="A point to walk. Repeatable.")],
    hours: Annotated[float | None, typer.Option(help="Due this many hours from now (default: the policy's).")] = None,
    round_id: Annotated[str | None, typer.Option("--round-id", help="The round's id (default: a new one).")] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    city = load_city(settings())
    for p in point:
        _choose("--point", p, city.points, "a point")
    if hours is not None and not 0 < hours <= 24 * 30:
        raise typer.BadParameter("must be more than 0 and at most 720 hours", param_hint="--hours")
    actor = acting(by, START.roles[0])
    state = run_with_client(
        lambda client: client.start_round(point_ids=point, actor=actor, hours=hours, round_id=round_id)
    )
    emit(state, as_json, lambda s: console.print(_round_line(s)))


@app.command("record", help=RECORD.help)
def record(
    round_id: RoundArg,
    point_id: Annotated[str, typer.Argument(help="The point walked.")],
    fail: Annotated[list[str] | None, typer.Option("--fail", help="A checklist item that failed. Repeatable.")] = None,
    note: Annotated[str, typer.Option(help="What was found (required with --fail).")] = "",
    photo: Annotated[list[Path] | None, typer.Option("--photo", help="A photo of the failure. Repeatable.")] = None,
    command_id: Annotated[str | None, typer.Option("--command-id", help="Resend a record under its own id.")] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every item of the point's checklist passes but those named with --fail, which carry the photos and note."""
    from rectify.domain.points import ItemAnswer

    city = load_city(settings())
    _choose("POINT_ID", point_id, city.points, "a point")
    category = city.policy.inspection.point_categories[city.points[point_id].category]
    failed = fail or []
    for item in failed:
        _choose("--fail", item, [i.code for i in category.items], f"an item of the {category.code} checklist")
    if failed and (not photo or not note.strip()):
        raise typer.BadParameter("a failed item needs a photo (--photo) and a note (--note)", param_hint="--fail")
    actor = acting(by, RECORD.roles[0])
    files = []
    if photo:
        from rectify.cli.inputs import read_photos

        files = read_photos(photo)

    async def action(client: Any) -> Any:
        evidence = ()
        if files:
            from rectify import views
            from rectify.cli.inputs import keep_photos

            kept = views.evidence_store(settings())
            evidence = tuple(await keep_photos(files, kept, client.store.pool, actor.unit_id))
        answers = [
            ItemAnswer(item=i.code, passed=False, evidence=evidence, note=note)
            if i.code in failed
            else ItemAnswer(item=i.code, passed=True)
            for i in category.items
        ]
        return await client.record_point(round_id, point_id, actor, answers, command_id=command_id)

    def render(result: Any) -> None:
        console.print(_round_line(result.state))
        for item, case_id in result.cases.items():
            console.print(f"  {item} failed: case {case_id} opened")

    emit(run_with_client(action), as_json, render)


@app.command("list")
def list_rounds(
    unit: Annotated[str | None, typer.Option(help="Only rounds this unit's inspectors walk.")] = None,
    leader: Annotated[str | None, typer.Option(help="Only this duty leader's rounds.")] = None,
    status: Annotated[RoundStatus | None, typer.Option(help="Only rounds in this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Rounds, newest first."""
    from rectify import views

    city = load_city(settings())
    _choose("--unit", unit, city.policy.units, "a unit")
    _choose("--leader", leader, city.policy.inspection.leaders, "a leader")
    wanted = status.value if status else None
    rows = run_with_client(lambda client: client.rounds(unit=unit, leader=leader, status=wanted))

    def render(rows: list) -> None:
        table = Table(title=f"rounds ({len(rows)})")
        for column in ("round", "kind", "status", "by", "leader", "recorded", "failed", "due", "missed"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                r.round_id,
                r.kind,
                r.status,
                r.inspector_unit,
                r.leader or "—",
                f"{r.recorded}/{r.points}",
                str(r.failed),
                views.local(r.due_at),
                "yes" if r.missed else "",
            )
        console.print(table)

    emit(rows, as_json, render)


@app.command()
def show(round_id: RoundArg, as_json: JsonOpt = False) -> None:
    """A round: its points, which are recorded and what failed on each."""
    state = run_with_client(lambda client: client.round(round_id))

    def render(state: Any) -> None:
        console.print(_round_line(state))
        for p in state.points:
            done = state.recorded.get(p.point_id)
            mark = "—" if done is None else ("failed " + ", ".join(done) if done else "passed")
            console.print(f"  {p.point_id} {p.name}: {mark}")

    emit(state, as_json, render)
