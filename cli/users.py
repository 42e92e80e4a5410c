"""`rectify users …`: staff accounts for the web pages; needs only the database.

Exit codes as everywhere: 0 done, 2 bad input (unknown unit, role or account, a weak password), 3 unreachable.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import EXIT_USAGE, JsonOpt, console, emit, err, load_city, open_store, say, settings
from rectify.store.staff import NoSuchStaff, StaffExists, StaffStore, StaffUser
from rectify.web.accounts import AccountError, Accounts, StaffRole
from rectify.web.labels import STAFF_ROLE, unit_name

app = typer.Typer(
    help="Staff accounts for the web pages: a name, a unit and a role (dispatcher, unit, inspector, leader, auditor).",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(help="The account's sign-in name.")]
StdinOpt = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")]
AreaOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--area",
        help="An inspector's area: a street or town id (city units.toml); repeat it or separate ids with commas. "
        "Without it, the whole district.",
    ),
]


def _areas(given: list[str] | None) -> list[str]:
    return [a.strip() for text in given or [] for a in text.split(",") if a.strip()]


def _run(work: Callable[[Accounts], Awaitable[Any]]) -> Any:
    """Open the configured (or embedded) database, bring its schema up to date, and work on the accounts."""
    city = load_city(settings())

    async def go() -> Any:
        async with open_store(migrated=True) as store:
            return await work(Accounts(StaffStore(store.pool), city.policy))

    try:
        return asyncio.run(go())
    except (AccountError, StaffExists) as error:
        err.print(f"[red]invalid input[/red]: {error}")
        raise typer.Exit(EXIT_USAGE) from None
    except NoSuchStaff as error:
        err.print(f"[red]invalid input[/red]: no account named {str(error)!r} (see `rectify users list`)")
        raise typer.Exit(EXIT_USAGE) from None


def _password_from_stdin() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        err.print("[red]invalid input[/red]: --password-stdin: the first line of stdin is empty")
        raise typer.Exit(EXIT_USAGE)
    return line


def _shown(user: StaffUser, policy: Any) -> dict[str, Any]:
    return {
        "name": user.name,
        "unit_id": user.unit_id,
        "unit_name": unit_name(policy, user.unit_id),
        "role": user.role,
        "disabled": user.disabled,
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        "created_at": user.created_at.isoformat(),
        "password_changed_at": user.password_changed_at.isoformat(),
        "areas": list(user.areas),
    }


@app.command("create")
def create(
    name: NameArg,
    unit: Annotated[str, typer.Option(help="The person's unit id (city units.toml).")],
    role: Annotated[StaffRole, typer.Option(help="What the person does.", case_sensitive=False)],
    area: AreaOpt = None,
    password_stdin: StdinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create an account. Without --password-stdin a password is generated and printed once."""
    given = _password_from_stdin() if password_stdin else None

    async def work(accounts: Accounts) -> tuple[dict, str | None]:
        user, generated = await accounts.create(name, unit, role.value, given, _areas(area))
        return _shown(user, accounts.policy), generated

    shown, generated = _run(work)
    text = f"account [bold]{name}[/bold] for {shown['unit_name']} ({unit}) as {role.value} ({STAFF_ROLE[role.value]})"
    if shown["areas"]:
        text += f", verifying in {', '.join(shown['areas'])}"
    if generated:
        text += f"\npassword: [bold]{generated}[/bold]  (shown once; `rectify users reset-password {name}` for another)"
    emit(shown | ({"password": generated} if generated else {}), as_json, say(text))


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every account with its unit and role and whether it is disabled (never a password)."""

    async def work(accounts: Accounts) -> list[dict]:
        return [_shown(u, accounts.policy) for u in await accounts.store.list()]

    rows = _run(work)
    if as_json:
        emit(rows, True, say(""))
        return
    table = Table(title=f"staff accounts ({len(rows)})")
    for column in ("name", "unit", "role", "area", "created", "disabled"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"],
            f"{r['unit_name']} ({r['unit_id']})",
            r["role"],
            ", ".join(r["areas"]),
            r["created_at"][:16],
            (r["disabled_at"] or "")[:16],
        )
    console.print(table)


@app.command("set-area")
def set_area(name: NameArg, area: AreaOpt = None, as_json: JsonOpt = False) -> None:
    """Give an inspector the area it verifies in (without --area: the whole district)."""

    async def work(accounts: Accounts) -> dict:
        return _shown(await accounts.set_areas(name, _areas(area)), accounts.policy)

    shown = _run(work)
    where = ", ".join(shown["areas"]) or "the whole district"
    emit(shown, as_json, say(f"[bold]{name}[/bold] verifies in {where}"))


@app.command("disable")
def disable(name: NameArg, as_json: JsonOpt = False) -> None:
    """Disable an account at once: its sessions end and it can no longer sign in."""

    async def work(accounts: Accounts) -> dict:
        return _shown(await accounts.store.disable(name), accounts.policy)

    shown = _run(work)
    emit(shown, as_json, say(f"disabled [bold]{name}[/bold]; its sessions have ended"))


@app.command("reset-password")
def reset_password(name: NameArg, password_stdin: StdinOpt = False, as_json: JsonOpt = False) -> None:
    """A new password (generated and printed once, or read from stdin); the account's sessions end."""
    given = _password_from_stdin() if password_stdin else None

    async def work(accounts: Accounts) -> tuple[dict, str]:
        user, password = await accounts.reset_password(name, given)
        return _shown(user, accounts.policy), password

    shown, password = _run(work)
    text = f"new password for [bold]{name}[/bold]" + (f": [bold]{password}[/bold] (shown once)" if not given else "")
    emit(shown | ({"password": password} if not given else {}), as_json, say(text + "; its sessions have ended"))


@app.command("signins")
def signins(
    name: Annotated[str | None, typer.Option(help="Only this account's attempts.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Recorded sign-in attempts: when, which account, from which address, success or why not."""

    async def work(accounts: Accounts) -> list[dict]:
        return [s.model_dump(mode="json") for s in await accounts.store.signins(name, limit)]

    rows = _run(work)
    if as_json:
        emit(rows, True, say(""))
        return
    table = Table(title=f"sign-ins ({len(rows)})")
    for column in ("when", "account", "address", "result"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["at"][:19], r["name"], r["address"], "ok" if r["ok"] else f"[red]{r['reason']}[/red]")
    console.print(table)
