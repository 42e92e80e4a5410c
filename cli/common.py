"""What every `rectify` command shares: the options, the consoles, JSON or text output, and how a command
reaches the configured servers (the SDK, or the store alone). Exit codes: 0 done, 1 command rejected,
2 usage error, 3 a server could not be reached (mapped in cli/__init__.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console

from rectify.config import Settings
from rectify.domain.types import Role

EXIT_REJECTED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3

# Wide enough for the case table when the output is a log or a pipe rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CaseArg = Annotated[str, typer.Argument(help="Case id.")]
UrlOpt = Annotated[str | None, typer.Option("--database-url", help="Use this database (e.g. as an auditor role).")]

#: Who acts when a command names no unit (`--by`): the sample city's offices, and a citizen for reporters.
DEFAULT_ACTOR: dict[Role, str] = {
    Role.DISPATCHER: "office_command",
    Role.INSPECTOR: "office_inspection",
    Role.REVIEWER: "office_inspection",
    Role.REPORTER: "citizen",
}


def settings() -> Settings:
    return Settings.from_env(os.environ).with_running_stack()


def load_city(settings: Settings) -> Any:
    from rectify import views
    from rectify.city import DEFAULT_CITY_DIR
    from rectify.city import load_city as _load

    return views.shown_in(_load(settings.city_dir or DEFAULT_CITY_DIR))


def as_json_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [as_json_value(v) for v in value]
    return value


def emit(value: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `value` as JSON (`--json`), or as people read it (`render`)."""
    if as_json:
        sys.stdout.write(json.dumps(as_json_value(value), ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        render(value)


def say(text: str) -> Callable[[Any], None]:
    """A `render` that prints one line of rich text, whatever the value."""
    return lambda _: console.print(text)


def run_with_client(action: Callable[[Any], Awaitable[Any]]) -> Any:
    """Connect the SDK, run one action, close; failures become messages and exit codes in cli/__init__.py."""
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

    async def go() -> Any:
        async with open_store(database_url) as store:
            return await action(store)

    return asyncio.run(go())


@contextlib.asynccontextmanager
async def open_store(database_url: str | None) -> AsyncIterator[Any]:
    """The configured store, or the embedded one under the data folder, started just for this command."""
    from rectify.client import ServerUnavailable
    from rectify.devstack import EmbeddedPostgres
    from rectify.store import EventStore

    s = settings()
    url = database_url or s.database_url
    pg = None
    if url is None:
        folder = s.data_dir / "postgres"
        if not (folder / "PG_VERSION").exists():
            raise ServerUnavailable(
                f"no database: set RECTIFY_DATABASE_URL, pass --database-url, or create data under {s.data_dir} "
                "(make demo, rectify up)"
            )
        pg = EmbeddedPostgres(folder.resolve()).start()
        url = pg.url
    try:
        try:
            store = await EventStore.connect(url, max_size=4)
        except OSError as error:
            raise ServerUnavailable(f"PostgreSQL at {url} could not be reached: {error}") from error
        try:
            yield store
        finally:
            await store.close()
    finally:
        if pg is not None:
            pg.stop()


def acting(by: str | None, role: Role) -> Any:
    """The actor a command names (`--by`, `--role`), or the role's default office when it names none."""
    from rectify.domain.types import Actor

    unit = by or DEFAULT_ACTOR.get(role)
    if unit is None:
        raise typer.BadParameter(f"name the acting {role.value} (a unit id)", param_hint="--by")
    return Actor(unit_id=unit, role=role)
