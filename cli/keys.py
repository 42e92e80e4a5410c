"""`rectify keys create|list|revoke`: API keys, one per actor; only a hash is kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import JsonOpt, console, emit, load_city, run_with_store, say, settings
from rectify.domain.types import Role

app = typer.Typer(help="API keys: one per actor, a role and a unit; only a hash is kept.", no_args_is_help=True)


def _with_keys(work: Callable[[Any], Awaitable[Any]]) -> Any:
    from rectify.api.keys import KeyStore

    return run_with_store(lambda store: work(KeyStore(store.pool)))


@app.command("create")
def create(
    unit: Annotated[str, typer.Option(help="The actor's unit (a unit id, or an app's name for reporters).")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    label: Annotated[str, typer.Option(help="Who holds it, for the list.")] = "",
    area: Annotated[
        list[str] | None,
        typer.Option(
            "--area",
            help="An inspector key's area: a street or town id (city units.toml); repeat it or separate ids with "
            "commas. The key acts only on cases there. Without it, the whole district.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key. The key itself is printed once; store it, it cannot be shown again.

    Staff keys (unit, dispatcher, inspector, reviewer) are for the city's units only; reporter and auditor
    keys name an app or an audit office; no key acts as `system`."""
    from rectify.api.keys import check_holder

    policy = load_city(settings()).policy
    areas = check_holder(policy, unit, role, [a.strip() for t in area or [] for a in t.split(",") if a.strip()])
    secret, key = _with_keys(lambda keys: keys.create(unit, role, label, policy=policy, areas=areas))
    where = f", acting in {', '.join(key.areas)}" if key.areas else ""
    shown = f"key [bold]{secret}[/bold] for {unit} as {role.value}{where} (id {key.key_id}); it is not shown again"
    emit({"key": secret, **key.model_dump(mode="json")}, as_json, say(shown))


@app.command("list")
def list_keys(as_json: JsonOpt = False) -> None:
    """Every key with its actor and whether it is revoked (never the key itself)."""
    from rectify import views

    def render(rows: list) -> None:
        table = Table(title=f"API keys ({len(rows)})")
        for column in ("id", "unit", "role", "area", "label", "created", "revoked"):
            table.add_column(column)
        for k in rows:
            created, revoked = views.local(k.created_at), views.local(k.revoked_at)
            table.add_row(k.key_id, k.unit_id, k.role, ", ".join(k.areas), k.label, created, revoked)
        console.print(table)

    emit(_with_keys(lambda store: store.list()), as_json, render)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `rectify keys list`).")], as_json: JsonOpt = False
) -> None:
    """Revoke a key at once; requests with it are refused from then on."""
    key = _with_keys(lambda keys: keys.revoke(key_id))
    emit(key, as_json, say(f"revoked {key.key_id} ({key.unit_id}, {key.role})"))
