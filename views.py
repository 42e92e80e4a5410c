"""How cases, results and histories look in a terminal (rich). Times are shown in the city policy's zone.

The command line serves one city at a time: once it has loaded the city it calls `use_timezone` with the
policy's zone. Until then (a command that never needs the city) times are shown in the zone the default
city's policy names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from rectify.config import Settings

_zone: ZoneInfo | None = None
_STATUS_STYLE = {
    "closed": "green",
    "submitted": "cyan",
    "claimed": "yellow",
    "dispatched": "blue",
    "disputed": "magenta",
    "rejected": "dim",
    "withdrawn": "dim",
    "merged": "dim",
}


def use_timezone(name: str) -> None:
    """Show times in this zone from now on (the policy's `timezone`)."""
    global _zone
    _zone = ZoneInfo(name)


def shown_in(city: Any) -> Any:
    """Show times in the city policy's zone from now on; returns the city."""
    use_timezone(city.policy.timezone)
    return city


def _shown_zone() -> ZoneInfo:
    if _zone is None:
        from rectify.city import DEFAULT_CITY_DIR, policy_timezone

        use_timezone(policy_timezone(DEFAULT_CITY_DIR))
    assert _zone is not None
    return _zone


def local(ts: datetime | None) -> str:
    return ts.astimezone(_shown_zone()).strftime("%Y-%m-%d %H:%M") if ts else "—"


def status_text(status: str) -> str:
    style = _STATUS_STYLE.get(str(status), "white")
    return f"[{style}]{status}[/{style}]"


def evidence_store(settings: Settings) -> Any:
    from rectify.store.evidence import EvidenceStore

    return EvidenceStore(settings.data_dir / "evidence")


def print_stack(console: Console, stack: Any) -> None:
    table = Table(title="Rectify embedded stack", show_header=False)
    table.add_row("Temporal", stack.temporal.address)
    table.add_row("Temporal Web UI", f"[link={stack.temporal.ui_url}]{stack.temporal.ui_url}[/link]")
    table.add_row("PostgreSQL", stack.database_url)
    if api_url := getattr(stack, "api_url", None):
        table.add_row("HTTP API", f"{api_url}/open311/v2/services.json · {api_url}/docs")
        table.add_row("Web pages", f"{api_url}/  (accounts: the demo's, or rectify users create …)")
    table.add_row("Task queue", stack.task_queue)
    table.add_row("Data folder", str(stack.data_dir))
    table.add_row("City", f"{stack.city.policy.city} ({len(stack.city.policy.units)} units)")
    console.print(table)
    console.print(
        "Worker running. Other terminals: `rectify report …`, `rectify list`, `rectify keys create …`. "
        "Ctrl-C stops everything."
    )


def print_case_ref(console: Console, ref: Any) -> None:
    console.print(
        f"case [bold]{ref.case_id}[/bold] {status_text(ref.status)} → lead unit [bold]{ref.lead_unit}[/bold], "
        f"due {local(ref.due_at)}"
    )


def print_command_result(console: Console, result: Any) -> None:
    state = result.state
    types = ", ".join(e.type for e in result.events)
    console.print(
        f"case [bold]{state.case_id}[/bold] {status_text(state.status)} (version {state.version}); recorded: {types}"
    )


def print_case_view(console: Console, view: Any) -> None:
    table = Table(show_header=False, title=f"case {(view.state or view.row).case_id}")
    if view.state is not None:
        s = view.state
        rows = [
            ("status", status_text(s.status)),
            ("category", s.category),
            ("description", s.description),
            ("location", f"{s.location.lon:.6f}, {s.location.lat:.6f} {s.address or ''}"),
            ("channel", s.channel),
            ("lead unit", s.lead_unit or "—"),
            ("territorial unit", s.territorial_unit or "—"),
            ("grid", s.grid_id or "—"),
            ("road chief", (s.routing.road_chief if s.routing else None) or "—"),
            ("guarantee unit", (s.routing.guarantee_unit if s.routing else None) or "—"),
            ("routing rule", s.routing.rule if s.routing else "—"),
            ("opened", local(s.opened_at)),
            ("due", local(s.due_at)),
            ("closed", local(s.closed_at)),
            ("rework", str(s.rework_count)),
            ("escalation level", str(s.escalation_level)),
            ("version", str(s.version)),
            ("workflow", "running" if view.live else "not asked: folded from the stored events"),
        ]
    else:
        r = view.row
        rows = [
            ("status", status_text(r.status)),
            ("category", r.category),
            ("lead unit", r.lead_unit or "—"),
            ("opened", local(r.opened_at)),
            ("due", local(r.due_at)),
            ("closed", local(r.closed_at)),
            ("version", str(r.version)),
            ("workflow", "ended (from the read model)"),
        ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def print_case_table(console: Console, rows: Sequence[Any], title: str = "cases") -> None:
    table = Table(title=f"{title} ({len(rows)})")
    for column in ("case", "status", "category", "lead unit", "territory", "grid", "opened", "due", "rework", "v"):
        table.add_column(column, no_wrap=column in {"case", "opened", "due"})
    for r in rows:
        table.add_row(
            r.case_id[:8],
            status_text(r.status),
            r.category,
            r.lead_unit or "—",
            r.territorial_unit or "—",
            r.grid_id or "—",
            local(r.opened_at),
            local(r.due_at),
            str(r.rework_count),
            str(r.version),
        )
    console.print(table)


_SKIP = {"event_id", "case_id", "version", "type", "occurred_at", "actor", "causation_id", "correlation_id"}


def _details(event: Any) -> str:
    body = event.model_dump(mode="json", exclude=_SKIP | {"schema_version"})
    routing = body.pop("routing", None)
    if routing:
        body["lead"] = routing["lead_unit"]
        body["rule"] = routing["rule"]
        body["grid"] = routing["grid_id"]
    if "due_at" in body:
        body["due_at"] = local(getattr(event, "due_at", None))
    if location := body.get("location"):
        body["location"] = f"{location['lon']:.5f},{location['lat']:.5f}"
    if body.get("evidence"):
        body["evidence"] = [e["sha256"][:12] for e in body["evidence"]]
    return "; ".join(f"{k}={v}" for k, v in body.items() if v not in (None, "", [], ()))


def print_history(console: Console, events: Sequence[Any]) -> None:
    title = f"history of case {events[0].case_id}" if events else "history"
    table = Table(title=title)
    for column in ("v", "when", "event", "actor", "details"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(str(e.version), local(e.occurred_at), e.type, f"{e.actor.unit_id} ({e.actor.role})", _details(e))
    console.print(table)


def print_inbox(console: Console, unit: str, rows: Sequence[dict]) -> None:
    table = Table(title=f"inbox of {unit} ({len(rows)})")
    for column in ("received", "case", "kind", "message"):
        table.add_column(column)
    for r in rows:
        table.add_row(local(r["received_at"]), r["case_id"][:8], r["kind"], r["text"])
    console.print(table)


def print_checks(console: Console, checks: Sequence[Any]) -> None:
    """`rectify doctor`: one line per check, then what it found."""
    marks = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    for check in checks:
        console.print(f"{marks[check.status]:>22}  [bold]{check.name}[/bold]: {check.detail}", highlight=False)
        for item in check.items:
            console.print(f"              {item}", highlight=False, markup=False)
