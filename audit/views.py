"""How the audit's point-in-time views and timelines look in a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from rectify.views import _details, local, status_text


def print_state_at(console: Console, case_id: str, at: datetime, state: Any) -> None:
    if state is None:
        console.print(f"case {case_id} had not been reported by {local(at)}")
        return
    table = Table(show_header=False, title=f"case {case_id} as it stood at {local(at)} (version {state.version})")
    routing = state.routing
    rows = [
        ("status", status_text(state.status)),
        ("category", state.category),
        ("lead unit", state.lead_unit or "—"),
        ("territorial unit", routing.territorial_unit if routing else "—"),
        ("grid / grid chief", f"{routing.grid_id} / {routing.grid_chief or '—'}" if routing else "—"),
        ("road chief", (routing.road_chief if routing else None) or "—"),
        ("guarantee unit", (routing.guarantee_unit if routing else None) or "—"),
        ("escalation level", str(state.escalation_level)),
    ]
    for stage, d in sorted(state.deadlines.items(), key=lambda item: item[1].due_at):
        notes = " (missed)" * d.missed + " (estimated)" * d.estimated
        rows.append((f"deadline: {stage}", f"{local(d.due_at)}{notes}"))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def print_timeline(console: Console, events: Sequence[Any], spans: Sequence[Any]) -> None:
    table = Table(title=f"timeline of case {events[0].case_id}")
    for column in ("when", "who", "what", "details"):
        table.add_column(column, overflow="fold")
    for e in events:
        what = e.type
        if e.type == "escalation_raised":
            what = f"[red]rung {e.level} {e.rung}[/red]"
        elif e.type == "deadline_missed":
            what = f"[yellow]missed {e.stage}[/yellow]"
        table.add_row(local(e.occurred_at), f"{e.actor.unit_id} ({e.actor.role})", what, _details(e))
    console.print(table)
    stages = Table(title="working time per stage")
    for column in ("stage", "unit", "from", "to", "working hours", "deadline", "met?"):
        stages.add_column(column)
    for s in spans:
        met = "[red]missed[/red]" if s.missed else ("[green]met[/green]" if s.ended else "running")
        stages.add_row(
            s.stage,
            s.unit or "—",
            local(s.started),
            local(s.ended) if s.ended else "(open)",
            f"{s.working.total_seconds() / 3600:.2f}",
            local(s.due_at),
            met,
        )
    console.print(stages)
