"""`rectify channels list|test`: the units' channels in force (channels.toml), how their deliveries stand, and
a test notice through one of them."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import EXIT_REJECTED, JsonOpt, console, emit, err, load_city, run_with_store, settings

app = typer.Typer(help="The units' notice channels (webhooks, 企业微信 / 钉钉 robots, e-mail): list, test.")


def _book() -> tuple[Any, Any]:
    """The configured channels (secrets resolved from this environment) and the city."""
    from rectify.channels.config import channel_book

    s = settings()
    city = load_city(s)
    return channel_book(s, set(city.policy.units), os.environ), city


def _where(channel: Any) -> str:
    """Where a channel sends, without its secrets (a robot's URL carries its key)."""
    import httpx

    if channel.kind == "email":
        return f"smtp://{channel.smtp_host}:{channel.smtp_port} → {', '.join(channel.recipients)}"
    url = httpx.URL(channel.url)
    return f"{url.scheme}://{url.host}{url.path}" if channel.kind == "webhook" else f"{url.scheme}://{url.host}/…"


@app.command("list")
def list_channels(
    with_counts: Annotated[bool, typer.Option("--counts/--no-counts", help="Read deliveries and circuits.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Every channel of the channels file: whose, what it takes, and (from the store) its deliveries and circuit."""
    book, _ = _book()
    counts: dict[str, Any] = {}
    if with_counts:
        from rectify.store.notices import NoticeStore

        counts = run_with_store(lambda store: NoticeStore(store.pool).channel_counts())
    rows = []
    for c in book.channels:
        seen = counts.get(c.id)
        rows.append(
            {
                "id": c.id,
                "unit": c.unit,
                "role": c.role,
                "kind": c.kind,
                "enabled": c.enabled,
                "kinds": list(c.kinds),
                "min_level": c.min_level,
                "where": _where(c) if c.enabled else "",
                "pending": seen.pending if seen else 0,
                "delivered": seen.delivered if seen else 0,
                "dead": seen.dead if seen else 0,
                "circuit": (seen.circuit or {}).get("state", "closed") if seen else "closed",
            }
        )

    def render(value: list[dict]) -> None:
        table = Table(title=f"channels ({len(value)})")
        for column in ("id", "unit", "kind", "on", "takes", "where", "pending", "delivered", "dead", "circuit"):
            table.add_column(column, overflow="fold")
        for r in value:
            takes = ", ".join(r["kinds"]) or "all"
            takes += f" (level ≥ {r['min_level']})" if r["min_level"] else ""
            table.add_row(
                r["id"],
                r["unit"] + (f" {r['role']}" if r["role"] else ""),
                r["kind"],
                "yes" if r["enabled"] else "no",
                takes,
                r["where"],
                str(r["pending"]),
                str(r["delivered"]),
                str(r["dead"]),
                r["circuit"],
            )
        console.print(table)

    emit(rows, as_json, render)


@app.command("test")
def test_channel(
    channel_id: Annotated[str, typer.Argument(help="A channel's id (`rectify channels list`).")],
    as_json: JsonOpt = False,
) -> None:
    """Send a test notice (about no case) through one channel now, once; exits 1 if it was not delivered.

    Nothing is written to the store: the answer is printed."""
    import httpx

    from rectify.channels.outcome import utc_now
    from rectify.channels.send import Sender
    from rectify.channels.text import trial_notice

    book, city = _book()
    channel = book.get(channel_id)
    if channel is None:
        raise typer.BadParameter(f"no channel {channel_id!r} in the channels file", param_hint="CHANNEL_ID")
    if not channel.enabled:
        raise typer.BadParameter(f"channel {channel_id!r} is disabled (enabled = false)", param_hint="CHANNEL_ID")
    text = trial_notice(
        channel.unit, city.policy, settings().case_link_base, notice_id=f"test-{uuid.uuid4()}", at=utc_now()
    )

    async def send() -> Any:
        async with httpx.AsyncClient() as http:
            return await Sender(http).send(channel, text)

    attempt = asyncio.run(send())
    shown = f"{attempt.outcome.value}" + (f" ({attempt.status})" if attempt.status is not None else "")
    shown += f" in {attempt.elapsed_ms:.0f} ms" + (f": {attempt.reason}" if attempt.reason else "")
    if attempt.delivered:
        emit(attempt, as_json, lambda _: console.print(f"[green]{shown}[/green] → {channel_id}"))
        return
    emit(attempt, as_json, lambda _: err.print(f"[red]{shown}[/red] → {channel_id}"))
    raise typer.Exit(EXIT_REJECTED)
