"""`rectify report`: file a report. It opens a case routed to the responsible unit, or joins the open case it
repeats (the duplicate rule, as for every intake path)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from rectify.cli.common import JsonOpt, console, emit, run_with_client, settings
from rectify.domain.types import Actor, Channel, Point, Role

app = typer.Typer()


@app.command()
def report(
    category: Annotated[str, typer.Option(help="Category code, e.g. street_vending.")],
    lon: Annotated[float, typer.Option(help="Longitude (WGS84).")],
    lat: Annotated[float, typer.Option(help="Latitude (WGS84).")],
    description: Annotated[str, typer.Option(help="What the problem is.")],
    channel: Annotated[Channel, typer.Option(help="Where the report came from.")] = Channel.HOTLINE,
    address: Annotated[str | None, typer.Option(help="Street address.")] = None,
    key: Annotated[str | None, typer.Option(help="Idempotency key: the same key never opens two cases.")] = None,
    reporter: Annotated[str, typer.Option("--by", "--as", help="Reporting unit or channel account.")] = "citizen",
    role: Annotated[Role, typer.Option(help="Role of the reporter.")] = Role.REPORTER,
    photo: Annotated[list[Path] | None, typer.Option(help="Photo file(s) of the problem.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report a problem: routed to the responsible unit and dispatched at once, or joined to the open case of
    the same category nearby that it repeats."""
    from rectify import views
    from rectify.cli.inputs import keep_photos, read_photos

    location = Point(lon=lon, lat=lat)
    photos = read_photos(photo or [])

    async def action(client: Any) -> Any:
        evidence = await keep_photos(photos, views.evidence_store(settings()), client.store.pool, reporter, location)
        return await client.report(
            idempotency_key=key or str(uuid.uuid4()),
            category=category,
            description=description,
            location=location,
            channel=channel,
            actor=Actor(unit_id=reporter, role=role),
            address=address,
            evidence=evidence,
        )

    emit(run_with_client(action), as_json, _render)


def _render(ref: Any) -> None:
    from rectify import views

    if ref.duplicate:
        console.print(
            f"the same problem is already open: the report joined case [bold]{ref.case_id}[/bold] "
            f"({ref.distance_m:.0f} m away), {views.status_text(ref.status)}, lead unit [bold]{ref.lead_unit}[/bold]"
        )
    else:
        views.print_case_ref(console, ref)
