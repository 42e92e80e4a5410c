"""`rectify up|api|worker|doctor|city-check`: run the system, and check that it (or a city's data) is sound."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from rectify.cli.common import JsonOpt, console, emit, err, load_city, say, settings
from rectify.config import Settings

app = typer.Typer()


@app.command()
def up(
    data_dir: Annotated[Path | None, typer.Option(help="Data folder (default .rectify/).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start the embedded stack in the foreground: PostgreSQL, the Temporal dev server (Web UI) and a worker.

    With --json, one line of JSON says where everything is once it is up."""
    from rectify import views
    from rectify.cli.recover import print_recovery, progress_on
    from rectify.devstack import EmbeddedStack

    s = Settings.from_env(os.environ)
    folder = data_dir or s.data_dir
    notices = stack_notices(s)

    async def go() -> None:
        from rectify.api.serve import serving
        from rectify.devstack import free_port, port_open

        async with EmbeddedStack(
            folder, city_dir=s.city_dir, task_queue=s.task_queue, checkpoint_every=s.checkpoint_every, notices=notices
        ) as stack:
            # The store may hold cases no workflow runs (the demo's, a lost or new cluster): start them first.
            with progress_on(err if as_json else console) as progress:
                recovery = await stack.client.recover(progress=progress)
            port = s.api_port if not port_open("127.0.0.1", s.api_port) else free_port()
            web_secret = replace(s, data_dir=stack.data_dir).resolved_web_secret()
            evidence = stack.data_dir / "evidence"
            async with serving(
                stack.client, evidence, "127.0.0.1", port, web_secret=web_secret, rate=s.api_rate, burst=s.api_burst
            ) as api_url:
                stack.api_url = api_url
                info = json.loads(stack.stack_file.read_text())
                stack.stack_file.write_text(json.dumps(info | {"api_url": api_url}))  # for other `rectify` commands
                recovered = {k: v for k, v in recovery.as_dict().items() if k != "started"}  # counts say it
                shown = info | {"api_url": api_url, "recovered": recovered}

                def show(_: object) -> None:
                    views.print_stack(console, stack)
                    print_recovery(console, recovery)

                emit(shown, as_json, show)
                await wait_for_ctrl_c()
            console.print("stopping …")

    asyncio.run(go())


def stack_notices(s: Settings) -> Any:
    """The relay `rectify up` runs beside its worker: the configured channels (checked before anything starts)."""
    from rectify.channels.config import channel_book
    from rectify.channels.relay import options_for
    from rectify.city import DEFAULT_CITY_DIR
    from rectify.city import load_city as _load
    from rectify.devstack import Notices

    if not s.notice_relay:
        return None
    book = channel_book(s, set(_load(s.city_dir or DEFAULT_CITY_DIR).policy.units), os.environ)
    return Notices(
        book=book,
        options=options_for(book, s.case_link_base),
        worker="rectify-up",
    )


async def wait_for_ctrl_c() -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@app.command("api")
def api_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default RECTIFY_API_PORT or 8311).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the HTTP API (Open311 GeoReport v2 and /v1) against the configured Temporal and PostgreSQL."""
    from rectify.api.serve import serving
    from rectify.client import RectifyClient

    async def go() -> None:
        s = settings()
        client = await RectifyClient.connect(s, load_city(s), service="rectify-api")
        try:
            secret = s.resolved_web_secret()
            async with serving(
                client,
                s.data_dir / "evidence",
                host,
                port or s.api_port,
                web_secret=secret,
                rate=s.api_rate,
                burst=s.api_burst,
            ) as url:
                where = f"Open311: {url}/open311/v2/services.json, docs: {url}/docs; web pages: {url}/"
                text = f"Rectify API at {url}  ({where})"
                emit({"api_url": url}, as_json, say(text))
                await wait_for_ctrl_c()
        finally:
            await client.close()

    asyncio.run(go())


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
    from rectify import views

    checks = asyncio.run(checkup.diagnose(settings(), checkup.Limits(attempts=attempts, task_seconds=task_seconds)))
    emit(checkup.report(checks), as_json, lambda _: views.print_checks(console, checks))
    raise typer.Exit(checkup.exit_code(checks))


@app.command("city-check")
def city_check(path: Annotated[Path, typer.Argument(help="A city data folder.")], as_json: JsonOpt = False) -> None:
    """Validate a city data folder (units, grids, roads, categories, policy)."""
    from rectify.city import load_city as _load

    city = _load(path)
    summary: dict[str, Any] = {
        "city": city.policy.city,
        "version": city.policy.version,
        "units": len(city.policy.units),
        "categories": len(city.policy.categories),
        "data_hash": city.data_hash,
    }
    emit(summary, as_json, lambda v: console.print(f"[green]ok[/green] {v}"))
