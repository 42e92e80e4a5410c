"""`rectify audit …`: verify, checkpoint, show, timeline, replay, export, verify-bundle, add-auditor.

Every command except `checkpoint` and `add-auditor` only reads, so it works under the auditors'
SELECT-only role (`--database-url postgresql://auditor@…`). With no database configured and no stack
running, the embedded PostgreSQL under the data folder is started for the command and stopped after.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import JsonOpt, UrlOpt, console, emit, load_city, open_store, say, settings

app = typer.Typer(
    help="Audit: prove the record was not changed; replay; point-in-time views; bundles.", no_args_is_help=True
)


class AuditFailed(Exception):
    """Verification found discrepancies: exit status 1 after the report was printed."""


async def _temporal_or_none() -> Any:
    """A Temporal client when one is configured and answers; the histories check is skipped otherwise."""
    from rectify.client import ServerUnavailable, connect_temporal

    configured = settings()
    if not configured.temporal_address:
        return None
    try:
        return await asyncio.wait_for(connect_temporal(configured), timeout=10)
    except (ServerUnavailable, TimeoutError):
        return None


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- verify -------------------------------------------------------------------------------------------
@app.command()
def verify(
    case: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
    since_checkpoint: Annotated[
        bool,
        typer.Option(
            "--since-checkpoint",
            help="Only what the latest verified checkpoint does not prove already: its root against the store, "
            "and the events after it (a store without one is verified in full).",
        ),
    ] = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record", help="When every check passes, record a verified checkpoint (needs a role that may write)."
        ),
    ] = False,
    temporal: Annotated[bool, typer.Option(help="Also compare with Temporal's histories when reachable.")] = True,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes scanning the events of a large store (default: one per CPU)."),
    ] = None,
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every hash chain, the global positions, the read models, the checkpoints and Temporal's histories."""
    from rectify.audit.histories import history_check
    from rectify.audit.verify import verify as run_verify
    from rectify.audit.verify import verify_and_record

    if case and (since_checkpoint or record):
        raise typer.BadParameter("verifies the whole store; leave out --case", param_hint="--since-checkpoint/--record")

    async def go() -> Any:
        client = await _temporal_or_none() if temporal else None
        histories = history_check(client) if client else None
        recorded = None
        async with open_store(database_url) as store:
            if record:
                report, recorded = await verify_and_record(
                    store, since_checkpoint=since_checkpoint, histories=histories, workers=workers
                )
            else:
                report = await run_verify(
                    store, case, histories=histories, workers=workers, since_checkpoint=since_checkpoint
                )
        if client is None:
            from rectify.audit.verify import CheckResult

            why = "not asked (--no-temporal)" if not temporal else "no Temporal server configured or reachable"
            skipped = CheckResult(
                check="temporal histories", what="the store equals the workflows' histories", checked=0, skipped=why
            )
            report = report.model_copy(update={"results": (*report.results, skipped)})
        return report, recorded

    report, recorded = _run(go())
    data = report.model_dump(mode="json") | {"ok": report.ok}
    if record:
        data["checkpoint"] = recorded.model_dump(mode="json") if recorded else None
    emit(data, as_json, lambda _: print_report(report, recorded if record else False))
    if not report.ok:
        raise AuditFailed


def print_report(report: Any, recorded: Any = False) -> None:
    """The checks as a table, then every finding; `recorded`: the verified checkpoint, None if none, False if
    not asked."""
    title = f"audit verify{' of case ' + report.case_id if report.case_id else ''}"
    if report.scope == "incremental":
        title += f" since checkpoint {report.since} (incremental, up to position {report.position})"
    table = Table(title=title, title_justify="left")
    for column in ("check", "what was checked", "items", "result"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        result = (
            f"[yellow]skipped[/yellow]: {r.skipped}"
            if r.skipped and r.ok
            else ("[green]ok[/green]" if r.ok else f"[red]{len(r.findings)} problems[/red]")
        )
        table.add_row(r.check, r.what, str(r.checked), result)
    console.print(table)
    for r in report.results:
        for f in r.findings[:200]:
            console.print(f"  [red]✗[/red] {r.check}: {f.where()}: {f.problem}")
    console.print("[green]VERIFIED[/green]" if report.ok else "[red]DISCREPANCIES FOUND[/red]")
    if recorded:
        console.print(
            f"verified checkpoint {recorded.number} ({recorded.verified}) at position {recorded.position}: "
            f"root [bold]{recorded.root}[/bold]"
        )
    elif recorded is None and report.ok:
        console.print("no checkpoint recorded: another one got further meanwhile")


# -- checkpoint ---------------------------------------------------------------------------------------
@app.command()
def checkpoint(database_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """Record a checkpoint now, without verifying (the hourly Schedule records a verified one after its verify)."""
    from rectify.audit.admin import take_checkpoint

    async def go() -> Any:
        async with open_store(database_url) as store:
            return await take_checkpoint(store)

    cp = _run(go())
    emit(
        cp,
        as_json,
        say(f"checkpoint {cp.number}: {cp.cases} cases at position {cp.position}\nroot [bold]{cp.root}[/bold]"),
    )


# -- point in time and timeline -----------------------------------------------------------------------
def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--at {text!r} is not a moment; write it like 2026-11-20T10:00+08:00") from None
    if moment.tzinfo is None:
        raise ValueError(f"--at {text!r} has no time zone; add one, e.g. {text}+08:00")
    return moment


@app.command()
def show(
    case_id: Annotated[str, typer.Argument(help="Case id.")],
    at: Annotated[str, typer.Option("--at", help="The moment, e.g. 2026-11-20T10:00+08:00.")],
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The case as it stood at a moment: status, responsible units, deadlines and level then."""
    from rectify.audit.timeline import state_at
    from rectify.audit.views import print_state_at
    from rectify.cli.reads import events_of

    moment = _moment(at)

    async def go() -> Any:
        async with open_store(database_url) as store:
            return state_at(await events_of(store, case_id), moment)

    state = _run(go())
    shown = {"at": moment.isoformat(), "state": state.model_dump(mode="json") if state else None}
    emit(shown, as_json, lambda _: print_state_at(console, case_id, moment, state))


@app.command()
def timeline(
    case_id: Annotated[str, typer.Argument(help="Case id.")], database_url: UrlOpt = None, as_json: JsonOpt = False
) -> None:
    """A readable timeline: who did what when, working time per stage, deadlines met or missed, rungs."""
    from rectify.audit.timeline import stage_spans
    from rectify.audit.views import print_timeline
    from rectify.cli.reads import events_of

    calendar = load_city(settings()).policy.calendar

    async def go() -> Any:
        async with open_store(database_url) as store:
            return await events_of(store, case_id)

    events = _run(go())
    # An open stage runs until now, or until the last event when the case lives in a simulated future.
    spans = stage_spans(events, calendar, max(datetime.now(calendar.zone), events[-1].occurred_at))
    shown = {"events": [e.model_dump(mode="json") for e in events], "stages": [s.as_json() for s in spans]}
    emit(shown, as_json, lambda _: print_timeline(console, events, spans))


# -- replay -------------------------------------------------------------------------------------------
@app.command()
def replay(
    case: Annotated[str | None, typer.Option("--case", help="Replay this case's runs, fetched from Temporal.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every case workflow Temporal still holds.")] = False,
    folder: Annotated[Path | None, typer.Option("--dir", help="Replay exported JSON histories in a folder.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run today's workflow code against recorded histories; name every workflow that no longer replays."""
    from rectify.audit import replay as r
    from rectify.client import ServerUnavailable, connect_temporal

    if sum(bool(x) for x in (case, all_, folder)) != 1:
        raise ValueError("give exactly one of --case ID, --all or --dir PATH")

    async def go() -> list[Any]:
        if folder is not None:
            return await r.replay(r.load_histories(folder))
        configured = settings()
        if not configured.temporal_address:
            raise ServerUnavailable("no Temporal to fetch histories from: `rectify up`, or RECTIFY_TEMPORAL_ADDRESS")
        client = await connect_temporal(configured)
        if case:
            return await r.replay(await r.case_runs(client, case))
        return await r.replay(r.fetch_all(client))

    outcomes = _run(go())
    failed = [o for o in outcomes if not o.ok]

    def render(_: object) -> None:
        for o in outcomes:
            mark = "[green]✓[/green]" if o.ok else "[red]✗[/red]"
            console.print(f"{mark} {o.name} ({o.run_id}){'' if o.ok else ': ' + (o.error or '')}")
        console.print(f"{len(outcomes) - len(failed)} of {len(outcomes)} histories replay on today's code")

    emit([{"workflow": o.name, "run_id": o.run_id, "ok": o.ok, "error": o.error} for o in outcomes], as_json, render)
    if failed:
        raise AuditFailed


# -- bundles ------------------------------------------------------------------------------------------
@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="The bundle to write, e.g. case.zip.")],
    case: Annotated[str | None, typer.Option("--case", help="One case.")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="A unit's cases …")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="… with events from this date (YYYY-MM-DD) …")] = None,
    to: Annotated[str | None, typer.Option("--to", help="… to this date, inclusive.")] = None,
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a self-contained bundle that verifies with Python's standard library alone."""
    from rectify.audit.bundle import cases_in_scope, export_bundle

    city = load_city(settings())
    start, end = _date("--from", from_), _date("--to", to)
    if case and (unit or from_ or to):
        raise ValueError("give either --case, or --unit with --from and --to, not both")

    async def go() -> dict:
        async with open_store(database_url) as store:
            ids = await cases_in_scope(store, case_id=case, unit=unit, start=start, end=end, zone=city.policy.timezone)
            scope = {"case": case} if case else {"unit": unit, "from": from_, "to": to}
            return await export_bundle(store, city, ids, scope, out)

    manifest = _run(go())
    root = manifest["checkpoint"]["root"] if manifest["checkpoint"] else "none (no checkpoint taken yet)"
    text = (
        f"wrote {out}: {manifest['cases']} cases, {manifest['events']} events; checkpoint root {root}\n"
        f"verify anywhere: unzip {out.name} && python3 verify_bundle.py\nor here: rectify audit verify-bundle {out}"
    )
    emit(manifest, as_json, say(text))


def _date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date; write it as YYYY-MM-DD") from None


@app.command("verify-bundle")
def verify_bundle(
    bundle: Annotated[Path, typer.Argument(help="A bundle made by `rectify audit export`.")], as_json: JsonOpt = False
) -> None:
    """Verify an export bundle exactly as its own verify_bundle.py does (with --json: {"ok": …} only)."""
    from rectify.audit.verify_bundle import main

    if as_json:
        with contextlib.redirect_stdout(sys.stderr):  # its report goes to stderr; stdout holds the JSON
            ok = main([str(bundle)]) == 0
    else:
        ok = main([str(bundle)]) == 0
    emit({"ok": ok, "bundle": str(bundle)}, as_json, lambda _: None)
    if not ok:
        raise AuditFailed


# -- access -------------------------------------------------------------------------------------------
@app.command("add-auditor")
def add_auditor(
    name: Annotated[str, typer.Argument(help="Login name for the auditor (letters, digits, _).")],
    password: Annotated[str | None, typer.Option(help="Password (omit where the server trusts local logins).")] = None,
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a login that can read everything and change nothing (member of rectify_auditor)."""
    from rectify.audit import admin

    async def go() -> None:
        async with open_store(database_url) as store:
            await admin.add_auditor(store, name, password)

    _run(go())
    text = (
        f"auditor {name} reads everything and can change nothing; connect audit commands with\n"
        f"  --database-url postgresql://{name}@HOST:PORT/DATABASE"
    )
    emit({"auditor": name, "role": "rectify_auditor"}, as_json, say(text))
