"""`rectify notices failed|retry|attempts`: the notices the channels did not take, and every try on record."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.table import Table

from rectify.cli.common import EXIT_REJECTED, JsonOpt, console, emit, err, run_with_store, say

app = typer.Typer(help="Notices to the units' channels: dead letters, retries, the record of every try.")

NoticeArg = Annotated[str, typer.Argument(help="A notice id (`rectify inbox`, a webhook's Idempotency-Key).")]


def _with_notices(work: Any) -> Any:
    from rectify.store.notices import NoticeStore

    return run_with_store(lambda store: work(NoticeStore(store.pool)))


@app.command("failed")
def failed(
    unit: Annotated[str | None, typer.Option("--unit", help="Only notices to this unit.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel's.")] = None,
    include_retried: Annotated[bool, typer.Option("--all", help="Also the dead letters retried since.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The dead letters: notices a channel refused, or did not take within the retries (not yet retried)."""
    from rectify import views

    letters = _with_notices(lambda n: n.dead_letters(unit=unit, channel=channel, include_retried=include_retried))

    def render(rows: list) -> None:
        table = Table(title=f"dead letters ({len(rows)})")
        for column in ("id", "failed", "channel", "unit", "kind", "notice", "tries", "reason", "retried"):
            table.add_column(column, overflow="fold")
        for r in rows:
            retried = f"{views.local(r.retried_at)} {r.retried_by}" if r.retried_at else ""
            table.add_row(
                str(r.id),
                views.local(r.failed_at),
                r.channel_id,
                r.recipient,
                r.kind,
                r.notification_id,
                str(r.attempts),
                r.reason,
                retried,
            )
        console.print(table)

    emit(letters, as_json, render)


@app.command("retry")
def retry(
    letter: Annotated[int | None, typer.Argument(help="A dead letter's id (`rectify notices failed`).")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Every open dead letter of this channel.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who retries (default: your login name).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send dead letters again, afresh (the retry count starts over); the relays wake at once."""
    if (letter is None) == (channel is None):
        raise typer.BadParameter("name one dead letter's id, or --channel for all of a channel's")
    who = by or getpass.getuser()
    retried = _with_notices(lambda n: n.retry(by=who, letter_id=letter, channel=channel))
    if not retried:
        what = f"dead letter {letter}" if letter is not None else f"dead letters of channel {channel}"
        err.print(f"[red]nothing to retry[/red]: no open {what} (see `rectify notices failed --all`)")
        raise typer.Exit(EXIT_REJECTED)
    emit({"retried": retried, "by": who}, as_json, say(f"retried {len(retried)} dead letter(s): {retried}"))


@app.command("attempts")
def attempts(notice: NoticeArg, as_json: JsonOpt = False) -> None:
    """Where one notice went and every try, with its outcome and worker: when the unit was told."""
    from rectify import views

    async def work(n: Any) -> dict[str, Any]:
        return {"deliveries": await n.deliveries(notice), "attempts": await n.attempts(notice)}

    found = _with_notices(work)
    if not found["deliveries"]:
        err.print(f"[red]not found[/red]: notice {notice} went to no channel (its unit has none, or no such notice)")
        raise typer.Exit(EXIT_REJECTED)

    def render(value: dict[str, Any]) -> None:
        table = Table(title=f"notice {notice}")
        for column in ("channel", "state", "tries", "delivered", "next try"):
            table.add_column(column)
        for d in value["deliveries"]:
            upcoming = views.local(d["next_at"]) if d["state"] == "pending" else ""
            table.add_row(d["channel_id"], d["state"], str(d["failures"]), views.local(d["delivered_at"]), upcoming)
        console.print(table)
        tries = Table(title=f"attempts ({len(value['attempts'])})")
        for column in ("started", "channel", "outcome", "status", "ms", "worker", "reason"):
            tries.add_column(column, overflow="fold")
        for a in value["attempts"]:
            status = "" if a.status is None else str(a.status)
            tries.add_row(
                views.local(a.started_at),
                a.channel_id,
                a.outcome,
                status,
                f"{a.elapsed_ms:.0f}",
                a.worker or "",
                a.reason,
            )
        console.print(tries)

    emit(found, as_json, render)
