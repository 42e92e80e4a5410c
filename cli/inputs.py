"""What the `rectify` command checks before it asks a server anything: filters against the city's own lists
(a usage error, exit 2, naming the option and what it accepts), and photo files by their content, with
the same function the HTTP API uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from rectify.client.evidence import EvidenceRejected, inspect_photo, keep_photo
from rectify.domain.types import EvidenceRef, Point


def _choose(option: str, value: str | None, known: Iterable[str], what: str) -> None:
    if value is None:
        return
    known = sorted(set(known))
    if value not in known:
        shown = ", ".join(known[:12]) + (f", … ({len(known)} in all)" if len(known) > 12 else "")
        raise typer.BadParameter(f"{value!r} is not {what} of this city; known: {shown}", param_hint=option)


def check_filters(
    city: Any,
    *,
    category: str | None = None,
    units: dict[str, str | None] | None = None,
    grid: str | None = None,
    level: int | None = None,
) -> None:
    """Refuse a filter that names nothing in the city: it would only ever list nothing."""
    _choose("--category", category, city.policy.categories, "a category")
    for option, unit in (units or {}).items():
        _choose(option, unit, city.policy.units, "a unit")
    grids = {g.grid_id for g in city.router.grids} | {f"{t}:unassigned" for t in city.policy.units}
    _choose("--grid", grid, grids, "a grid")
    top = len(city.policy.ladder)
    if level is not None and not 0 <= level <= top:
        raise typer.BadParameter(f"{level} is not a rung of the ladder (0 to {top})", param_hint="--level")


@dataclass(frozen=True)
class Photo:
    path: Path
    data: bytes


def read_photos(paths: Iterable[Path]) -> list[Photo]:
    """Each file read and checked by content, as the API checks an upload: a text file is no photo,
    whatever its name says."""
    photos = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise typer.BadParameter(f"cannot read {path}: {error.strerror}", param_hint="--photo") from None
        try:
            inspect_photo(data)
        except EvidenceRejected as rejected:
            raise typer.BadParameter(f"{path}: {str(rejected).removeprefix('file: ')}", param_hint="--photo") from None
        photos.append(Photo(path, data))
    return photos


async def keep_photos(
    photos: Iterable[Photo], evidence: Any, pool: Any, unit_id: str, location: Point | None = None
) -> list[EvidenceRef]:
    """Store the photos and record the unit that brought them, as an upload through the API does."""
    from rectify.store.evidence import EvidenceRecords

    records = EvidenceRecords(pool)
    return [(await keep_photo(evidence, records, unit_id, None, p.data, location))[0] for p in photos]
