"""`rectify bulletin issue`: the numbered weekly 督查通报 (html, pdf, md, csv, png), as the Monday Schedule does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rectify.cli.common import JsonOpt, UrlOpt, emit, load_city, run_with_store, say, settings

app = typer.Typer(
    help="督查通报: the numbered weekly bulletin of rankings, exposures and referrals.", no_args_is_help=True
)


@app.command()
def issue(
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W47.")],
    out: Annotated[Path, typer.Option(help="Folder for the bulletin's files.")] = Path("out"),
    database_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue the week's bulletin into a folder: the same week always gets the same number and the same bytes."""
    from rectify.bulletins.issue import issue_bulletin

    city = load_city(settings())

    async def work(store: Any) -> Any:
        return await issue_bulletin(store, city.policy, week, out, points=tuple(city.points.values()))

    bulletin = run_with_store(work, database_url)
    text = f"督查通报 第{bulletin.number}期 ({bulletin.week}) written to {out}: {', '.join(sorted(bulletin.files))}"
    emit(bulletin, as_json, say(text))
