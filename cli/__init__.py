"""The `rectify` command. Exit codes: 0 done, 1 command rejected, 2 usage error, 3 a server could not be reached.

Every command can print JSON (`--json`). No traceback reaches the user for a usage or input error.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from rectify import views
from rectify.config import Settings
from rectify.domain.types import Actor, CaseStatus, Channel, Point, Role
from rectify.web.users_cli import users_app

app = typer.Typer(
    name="rectify",
    help="Rectify: rectification cases (问题整改案件) as durable, auditable workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Wide enough for the case table when the output is a log or a pipe rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

EXIT_REJECTED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CaseArg = Annotated[str, typer.Argument(help="Case id.")]


def settings() -> Settings:
    return Settings.from_env(os.environ).with_running_stack()


def load_city(settings: Settings):
    from rectify.city import DEFAULT_CITY_DIR
    from rectify.city import load_city as _load

    return _load(settings.city_dir or DEFAULT_CITY_DIR)


def emit(value: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, list):
            value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
        sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        render(value)


def run_with_client(action: Callable[[Any], Awaitable[Any]]) -> Any:
    """Connect the SDK, run one action, and turn every expected failure into a message and an exit code."""
    from rectify.client import RectifyClient

    async def go() -> Any:
        s = settings()
        client = await RectifyClient.connect(s, load_city(s))
        try:
            return await action(client)
        finally:
            await client.close()

    return asyncio.run(go())


def run_with_store(action: Callable[[Any], Awaitable[Any]], database_url: str | None = None) -> Any:
    """Work that needs only the event store: the given or configured database, or the embedded one."""
    from rectify.audit.cli import open_store

    async def go() -> Any:
        async with open_store(database_url) as store:
            return await action(store)

    return asyncio.run(go())


def actor(unit: str, role: Role) -> Actor:
    return Actor(unit_id=unit, role=role)


def command_result(result: Any, as_json: bool) -> None:
    emit(result, as_json, lambda r: views.print_command_result(console, r))


def _audit_app() -> typer.Typer:
    from rectify.audit.cli import audit_app

    return audit_app


app.add_typer(_audit_app(), name="audit")


def _accountability_app() -> typer.Typer:
    from rectify.accountability_cli import accountability_app

    return accountability_app


app.add_typer(_accountability_app(), name="accountability")
app.add_typer(users_app, name="users")


# -- the stack -------------------------------------------------------------------------------------
@app.command()
def up(
    data_dir: Annotated[Path | None, typer.Option(help="Data folder (default .rectify/).")] = None,
) -> None:
    """Start the embedded stack in the foreground: PostgreSQL, the Temporal dev server (Web UI) and a worker."""
    from rectify.devstack import EmbeddedStack

    s = Settings.from_env(os.environ)
    folder = data_dir or s.data_dir

    async def go() -> None:
        from rectify.api.serve import serving
        from rectify.devstack import free_port, port_open

        async with EmbeddedStack(
            folder, city_dir=s.city_dir, task_queue=s.task_queue, checkpoint_every=s.checkpoint_every
        ) as stack:
            port = s.api_port if not port_open("127.0.0.1", s.api_port) else free_port()
            web_secret = replace(s, data_dir=stack.data_dir).resolved_web_secret()
            evidence = stack.data_dir / "evidence"
            async with serving(stack.client, evidence, "127.0.0.1", port, web_secret=web_secret) as api_url:
                stack.api_url = api_url
                info = json.loads(stack.stack_file.read_text())
                stack.stack_file.write_text(json.dumps(info | {"api_url": api_url}))  # for other `rectify` commands
                views.print_stack(console, stack)
                await _wait_for_ctrl_c()
            console.print("stopping …")

    asyncio.run(go())


async def _wait_for_ctrl_c() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@app.command("api")
def api_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default RECTIFY_API_PORT or 8311).")] = None,
) -> None:
    """Serve the HTTP API (Open311 GeoReport v2 and /v1) against the configured Temporal and PostgreSQL."""
    from rectify.api.serve import serving
    from rectify.client import RectifyClient

    async def go() -> None:
        s = settings()
        client = await RectifyClient.connect(s, load_city(s))
        try:
            secret = s.resolved_web_secret()
            async with serving(client, s.data_dir / "evidence", host, port or s.api_port, web_secret=secret) as url:
                console.print(
                    f"Rectify API at {url}  (Open311: {url}/open311/v2/services.json, docs: {url}/docs; "
                    f"web pages: {url}/)"
                )
                await _wait_for_ctrl_c()
        finally:
            await client.close()

    asyncio.run(go())


keys_app = typer.Typer(help="API keys: one per actor, a role and a unit; only a hash is kept.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _with_keys(work: Callable[[Any], Awaitable[Any]]) -> Any:
    from rectify.api.keys import KeyStore

    return run_with_store(lambda store: work(KeyStore(store.pool)))


@keys_app.command("create")
def keys_create(
    unit: Annotated[str, typer.Option(help="The actor's unit (a unit id, or an app's name for reporters).")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    label: Annotated[str, typer.Option(help="Who holds it, for the list.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create a key. The key itself is printed once; store it, it cannot be shown again.

    Staff keys (unit, dispatcher, inspector, reviewer) are for the city's units only; reporter and auditor
    keys name an app or an audit office; no key acts as `system`."""
    from rectify.api.keys import check_holder

    policy = load_city(settings()).policy
    check_holder(policy, unit, role)  # before any database is opened
    secret, key = _with_keys(lambda keys: keys.create(unit, role, label, policy=policy))
    shown = f"key [bold]{secret}[/bold] for {unit} as {role.value} (id {key.key_id}); it is not shown again"
    emit({"key": secret, **key.model_dump(mode="json")}, as_json, lambda _: console.print(shown))


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """Every key with its actor and whether it is revoked (never the key itself)."""
    keys = _with_keys(lambda store: store.list())

    def render(rows: list) -> None:
        table = Table(title=f"API keys ({len(rows)})")
        for column in ("id", "unit", "role", "label", "created", "revoked"):
            table.add_column(column)
        for k in rows:
            table.add_row(k.key_id, k.unit_id, k.role, k.label, views.local(k.created_at), views.local(k.revoked_at))
        console.print(table)

    emit(keys, as_json, render)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `rectify keys list`).")]) -> None:
    """Revoke a key at once; requests with it are refused from then on."""
    key = _with_keys(lambda keys: keys.revoke(key_id))
    console.print(f"revoked {key.key_id} ({key.unit_id}, {key.role})")


@app.command()
def worker() -> None:
    """Run a worker against the configured Temporal and PostgreSQL (RECTIFY_* variables or `rectify up`)."""
    from rectify.worker import main as worker_main

    worker_main()


@app.command()
def doctor(
    as_json: JsonOpt = False,
    attempts: Annotated[int, typer.Option(min=1, help="An activity on this attempt counts as stuck.")] = 5,
    task_seconds: Annotated[float, typer.Option(min=1, help="A workflow task running this long is stuck.")] = 120,
) -> None:
    """Check the installation: servers, migrations, appends the database refused, stuck and failed workflows."""
    from rectify import doctor as checkup

    checks = asyncio.run(checkup.diagnose(settings(), checkup.Limits(attempts=attempts, task_seconds=task_seconds)))
    emit(checkup.report(checks), as_json, lambda _: views.print_checks(console, checks))
    raise typer.Exit(checkup.exit_code(checks))


@app.command()
def demo(
    walkthrough: Annotated[
        bool, typer.Option("--walkthrough", help="Instead: ten cases through every path on the dev server.")
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder (default .rectify/).")] = None,
    out: Annotated[Path, typer.Option(help="Where the report goes.")] = Path("out"),
) -> None:
    """A simulated week in the sample city on the real engine (worker, workflows, store), then its report."""
    if walkthrough:
        from rectify.demo import run_demo
        from rectify.sim.cli import run_interruptible

        run_interruptible(run_demo(console, data_dir))
        return
    from rectify.sim.cli import run_simulation

    s = Settings.from_env(os.environ)
    run_simulation(
        console,
        load_city(s),
        engine="temporal",
        days=12,
        reports_per_day=50,
        seed=1,
        start=None,
        out=out,
        data_dir=data_dir or s.data_dir,
        database_url=None,
    )


@app.command()
def simulate(
    days: Annotated[int, typer.Option(min=1, max=366, help="Simulated days.")] = 7,
    seed: Annotated[int, typer.Option(help="Same seed, same run, same numbers.")] = 1,
    reports_per_day: Annotated[int, typer.Option(min=1, max=100_000, help="Average reports a day.")] = 50,
    engine: Annotated[
        str, typer.Option(help="temporal: the real worker on the time-skipping server; direct: in-process, fast.")
    ] = "temporal",
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: the coming Monday).")] = None,
    out: Annotated[Path, typer.Option(help="Where summary.json and the report go.")] = Path("out"),
    data_dir: Annotated[Path | None, typer.Option(help="Data folder of the embedded PostgreSQL.")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Write to this (empty) PostgreSQL database instead of the embedded one.")
    ] = None,
) -> None:
    """Play a stretch of time in the city: reports from every channel, units acting by a seeded model."""
    from rectify.sim.cli import run_simulation

    s = Settings.from_env(os.environ)
    run_simulation(
        console,
        load_city(s),
        engine=engine,
        days=days,
        reports_per_day=reports_per_day,
        seed=seed,
        start=start,
        out=out,
        data_dir=data_dir or s.data_dir,
        database_url=database_url,
    )


@app.command("city-check")
def city_check(path: Annotated[Path, typer.Argument(help="A city data folder.")], as_json: JsonOpt = False) -> None:
    """Validate a city data folder (units, grids, roads, categories, policy)."""
    from rectify.city import load_city as _load

    city = _load(path)
    summary = {
        "city": city.policy.city,
        "version": city.policy.version,
        "units": len(city.policy.units),
        "categories": len(city.policy.categories),
        "data_hash": city.data_hash,
    }
    emit(summary, as_json, lambda v: console.print(f"[green]ok[/green] {v}"))


# -- intake and commands ---------------------------------------------------------------------------
report_app = typer.Typer(
    invoke_without_command=True,
    help="File a case (with --category …), or read reports: weekly, unit, quarter.",
)
app.add_typer(report_app, name="report")


@report_app.callback()
def report(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Category code, e.g. street_vending.")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS84).")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS84).")] = None,
    description: Annotated[str | None, typer.Option(help="What the problem is.")] = None,
    channel: Annotated[Channel, typer.Option(help="Where the report came from.")] = Channel.HOTLINE,
    address: Annotated[str | None, typer.Option(help="Street address.")] = None,
    key: Annotated[str | None, typer.Option(help="Idempotency key: the same key never opens two cases.")] = None,
    reporter: Annotated[str, typer.Option("--as", help="Reporting unit or channel account.")] = "citizen",
    role: Annotated[Role, typer.Option(help="Role of the reporter.")] = Role.REPORTER,
    photo: Annotated[list[Path] | None, typer.Option(help="Photo file(s) of the problem.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report a problem: it is routed to the responsible unit and dispatched at once."""
    if ctx.invoked_subcommand is not None:
        return
    missing = [
        f"--{n}"
        for n, v in (("category", category), ("lon", lon), ("lat", lat), ("description", description))
        if v is None
    ]
    if missing:
        from typer._click.exceptions import UsageError  # typer ships its own copy of click's errors

        raise UsageError(f"Missing option {', '.join(missing)} (or a subcommand: weekly, unit, quarter)", ctx)
    location = Point(lon=lon, lat=lat)
    from rectify.cli_inputs import keep_photos, read_photos

    photos = read_photos(photo or [])

    async def action(client: Any) -> Any:
        evidence = await keep_photos(photos, views.evidence_store(settings()), client.store.pool, reporter, location)
        return await client.report(
            idempotency_key=key or str(uuid.uuid4()),
            category=category,
            description=description,
            location=location,
            channel=channel,
            actor=actor(reporter, role),
            address=address,
            evidence=evidence,
        )

    ref = run_with_client(action)
    emit(ref, as_json, lambda r: views.print_case_ref(console, r))


def _report_commands() -> None:
    from rectify import report_cli

    report_app.command("weekly")(report_cli.weekly)
    report_app.command("quarter")(report_cli.quarter)
    report_app.command("unit")(report_cli.unit)


_report_commands()


@app.command()
def claim(
    case_id: CaseArg, unit: Annotated[str, typer.Option(help="The lead unit.")], as_json: JsonOpt = False
) -> None:
    """认领: the lead unit takes the case and starts rectifying."""
    command_result(run_with_client(lambda c: c.claim(case_id, actor(unit, Role.UNIT))), as_json)


@app.command()
def dispute(
    case_id: CaseArg,
    unit: Annotated[str, typer.Option(help="The lead unit.")],
    reason: Annotated[str, typer.Option(help="Why it is not this unit's case.")],
    as_json: JsonOpt = False,
) -> None:
    """退单: the lead unit returns the dispatch with a reason."""
    command_result(run_with_client(lambda c: c.dispute(case_id, actor(unit, Role.UNIT), reason)), as_json)


@app.command()
def reassign(
    case_id: CaseArg,
    to: Annotated[str, typer.Option("--to", help="The new lead unit.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """The dispatcher names another lead unit."""
    command_result(run_with_client(lambda c: c.reassign(case_id, actor(by, Role.DISPATCHER), to, reason)), as_json)


@app.command()
def uphold(
    case_id: CaseArg,
    reason: Annotated[str, typer.Option(help="Why the dispatch stands.")],
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """The dispatcher refuses a dispute: the same unit stays responsible."""
    command_result(run_with_client(lambda c: c.uphold(case_id, actor(by, Role.DISPATCHER), reason)), as_json)


@app.command()
def submit(
    case_id: CaseArg,
    unit: Annotated[str, typer.Option(help="The lead unit.")],
    photo: Annotated[list[Path], typer.Option(help="Photo of the fixed problem (办结照片); repeatable.")],
    note: Annotated[str, typer.Option(help="What was done.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """The unit reports the problem fixed, with photos (JPEG, PNG or WebP, checked by content)."""
    from rectify.cli_inputs import keep_photos, read_photos

    photos = read_photos(photo)

    async def action(client: Any) -> Any:
        evidence = await keep_photos(photos, views.evidence_store(settings()), client.store.pool, unit)
        return await client.submit(case_id, actor(unit, Role.UNIT), evidence, note)

    command_result(run_with_client(action), as_json)


@app.command()
def verify(
    case_id: CaseArg,
    passed: Annotated[bool, typer.Option("--pass/--fail", help="Verification result.")],
    by: Annotated[str, typer.Option("--by", help="Inspecting unit.")] = "office_inspection",
    role: Annotated[Role, typer.Option(help="inspector or dispatcher.")] = Role.INSPECTOR,
    note: Annotated[str, typer.Option(help="Finding.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """核查: pass closes the case; fail orders rework (返工) with a new deadline."""
    command_result(run_with_client(lambda c: c.verify(case_id, actor(by, role), passed, note)), as_json)


@app.command()
def reject(
    case_id: CaseArg,
    reason: Annotated[str, typer.Option(help="Why it is not accepted.")],
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """不予立案: not accepted at intake."""
    command_result(run_with_client(lambda c: c.reject(case_id, actor(by, Role.DISPATCHER), reason)), as_json)


@app.command()
def withdraw(
    case_id: CaseArg,
    reason: Annotated[str, typer.Option(help="Why.")],
    by: Annotated[str, typer.Option("--by", help="Reporter account.")] = "citizen",
    role: Annotated[Role, typer.Option(help="reporter or dispatcher.")] = Role.REPORTER,
    as_json: JsonOpt = False,
) -> None:
    """The reporter withdraws the report before the unit claims it."""
    command_result(run_with_client(lambda c: c.withdraw(case_id, actor(by, role), reason)), as_json)


@app.command()
def merge(
    case_id: CaseArg,
    into: Annotated[str, typer.Option("--into", help="The open case this one duplicates.")],
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """Merge a duplicate into another open case."""
    command_result(run_with_client(lambda c: c.merge(case_id, actor(by, Role.DISPATCHER), into)), as_json)


@app.command()
def reopen(
    case_id: CaseArg,
    reason: Annotated[str, typer.Option(help="Why: not satisfied, or the problem came back.")],
    by: Annotated[str, typer.Option("--by", help="Who reopens.")] = "citizen",
    role: Annotated[Role, typer.Option(help="reporter, dispatcher or inspector.")] = Role.REPORTER,
    as_json: JsonOpt = False,
) -> None:
    """Reopen a closed case within the policy window: a new cycle, counted as rework."""
    command_result(run_with_client(lambda c: c.reopen(case_id, actor(by, role), reason)), as_json)


@app.command()
def extend(
    case_id: CaseArg,
    unit: Annotated[str, typer.Option(help="The lead unit asking.")],
    hours: Annotated[float, typer.Option(min=0.1, help="Extra hours, in the category's own units.")],
    reason: Annotated[str, typer.Option(help="Why more time is needed.")],
    as_json: JsonOpt = False,
) -> None:
    """延期申请: the lead unit asks for more time (the dispatcher then grants or refuses)."""
    command_result(
        run_with_client(lambda c: c.request_extension(case_id, actor(unit, Role.UNIT), hours, reason)), as_json
    )


@app.command("decide-extension")
def decide_extension(
    case_id: CaseArg,
    granted: Annotated[bool, typer.Option("--grant/--refuse", help="Grant or refuse the pending request.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """The dispatcher grants or refuses a pending extension request."""
    command_result(
        run_with_client(lambda c: c.decide_extension(case_id, actor(by, Role.DISPATCHER), granted, reason)), as_json
    )


@app.command()
def suspend(
    case_id: CaseArg,
    reason: Annotated[str, typer.Option(help="Why the work cannot go on for now.")],
    by: Annotated[str, typer.Option("--by", help="The lead unit (asks) or the dispatcher.")],
    role: Annotated[Role, typer.Option(help="unit or dispatcher.")] = Role.UNIT,
    as_json: JsonOpt = False,
) -> None:
    """挂起申请: ask to pause every clock of the case."""
    command_result(run_with_client(lambda c: c.request_suspension(case_id, actor(by, role), reason)), as_json)


@app.command("decide-suspension")
def decide_suspension(
    case_id: CaseArg,
    approved: Annotated[bool, typer.Option("--approve/--refuse", help="Approve or refuse the pending request.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """The dispatcher approves (clocks stop) or refuses a suspension request."""
    command_result(
        run_with_client(lambda c: c.decide_suspension(case_id, actor(by, Role.DISPATCHER), approved, reason)), as_json
    )


@app.command()
def resume(
    case_id: CaseArg,
    reason: Annotated[str, typer.Option(help="Why the case can go on.")],
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """Clocks run again, with the time that was left."""
    command_result(run_with_client(lambda c: c.resume(case_id, actor(by, Role.DISPATCHER), reason)), as_json)


@app.command()
def feedback(
    case_id: CaseArg,
    satisfied: Annotated[bool, typer.Option("--satisfied/--unsatisfied", help="The reporter's answer.")],
    note: Annotated[str, typer.Option(help="What the reporter said.")] = "",
    by: Annotated[str, typer.Option("--by", help="Dispatching office.")] = "office_command",
    as_json: JsonOpt = False,
) -> None:
    """回访: record the reporter's answer after closure."""
    command_result(
        run_with_client(lambda c: c.record_feedback(case_id, actor(by, Role.DISPATCHER), satisfied, note)), as_json
    )


# -- reads -----------------------------------------------------------------------------------------
@app.command()
def inbox(
    unit: Annotated[str, typer.Argument(help="Unit id.")],
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """A unit's notifications: new dispatches, missed deadlines, every rung of the ladder."""
    from rectify.cli_inputs import check_filters

    check_filters(load_city(settings()), units={"UNIT": unit})
    rows = run_with_client(lambda c: c.store.inbox(unit, limit))
    emit(rows, as_json, lambda r: views.print_inbox(console, unit, r))


@app.command()
def show(case_id: CaseArg, as_json: JsonOpt = False) -> None:
    """One case as it stands: from its live workflow, or folded from its events when no Temporal is running."""
    if settings().temporal_address:
        view = run_with_client(lambda c: c.get(case_id))
    else:
        view = run_with_store(lambda store: _view_from_store(store, case_id))
    emit(view, as_json, lambda v: views.print_case_view(console, v))


async def _view_from_store(store: Any, case_id: str) -> Any:
    from rectify.client import CaseNotFound, CaseView
    from rectify.domain.state import fold

    events = await store.load(case_id)
    if not events:
        raise CaseNotFound(case_id)
    return CaseView(state=fold(events), row=await store.get_case(case_id), live=False)


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
    from rectify.cli_inputs import check_filters

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
    from rectify.client import CaseNotFound

    events = run_with_store(lambda store: store.load(case_id))
    if not events:
        raise CaseNotFound(case_id)
    emit(events, as_json, lambda e: views.print_history(console, e))


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every expected failure to its exit code, then leave through os._exit (sdk-python#300)."""
    from rectify import logs

    logs.configure()
    status = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run(argv: list[str] | None = None) -> int:
    import asyncpg

    from rectify.api.keys import ApiKeyError
    from rectify.audit.bundle import ExportError
    from rectify.audit.cli import AuditFailed
    from rectify.city import CityDataError
    from rectify.client import CaseNotFound, CommandRejected, ServerUnavailable
    from rectify.devstack import StackError
    from rectify.domain.periods import PeriodError
    from rectify.reports import UnknownUnitError
    from rectify.sim.run import SimulationError

    command = typer.main.get_command(app)
    try:
        # Standalone mode lets the parser print usage errors itself and exit 2, as users expect.
        command.main(args=argv, prog_name="rectify", standalone_mode=True)
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else EXIT_USAGE)
    except AuditFailed:
        return EXIT_REJECTED
    except CommandRejected as error:
        err.print(f"[red]rejected[/red] ({error.rule}): {error}")
        return EXIT_REJECTED
    except CaseNotFound as error:
        err.print(f"[red]not found[/red]: {error}")
        return EXIT_REJECTED
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        err.print(f"[red]invalid input[/red]: {field}: {first['msg']}")
        return EXIT_USAGE
    except (
        CityDataError,
        SimulationError,
        ExportError,
        PeriodError,
        UnknownUnitError,
        ApiKeyError,
        ValueError,
    ) as error:
        err.print(f"[red]invalid input[/red]: {error}")
        return EXIT_USAGE
    except (ServerUnavailable, StackError, ConnectionError, OSError) as error:
        err.print(f"[red]unreachable[/red]: {error}")
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    except asyncpg.PostgresError as error:  # e.g. an auditor's read-only role asked to write
        err.print(f"[red]database refused[/red]: {type(error).__name__}: {error}")
        return EXIT_REJECTED
    except Exception as error:  # a bug, not a user's mistake: one line here, the traceback on request
        if os.environ.get("RECTIFY_DEBUG"):
            err.print_exception()
        err.print(f"[red]internal error[/red]: {type(error).__name__}: {error} (set RECTIFY_DEBUG=1 for details)")
        return EXIT_REJECTED


if __name__ == "__main__":
    main()
