"""What the public pages read of cases, from the `cases` read model: a filtered list with keyset pages, map
points, and one report. Only the columns a public page shows leave the store: no reporter, no notes, no grid
or guarantee unit (the reporters' contacts live in another table that nothing here touches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from rectify.store.read_models import PageKey

_COLUMNS = (
    "case_id, status, category, description, lead_unit, territorial_unit, due_at, opened_at, closed_at, "
    "ended_at, lon, lat, address, escalation_level"
)


@dataclass(frozen=True)
class PublicReport:
    case_id: str
    status: str
    category: str
    description: str
    lead_unit: str | None
    territorial_unit: str | None
    due_at: datetime | None
    opened_at: datetime
    closed_at: datetime | None
    ended_at: datetime | None
    lon: float | None
    lat: float | None
    address: str | None
    escalation_level: int


@dataclass(frozen=True)
class PublicFilter:
    category: str | None = None
    #: Open311's two words: True closed, False open, None both.
    closed: bool | None = None
    territory: str | None = None
    opened_from: datetime | None = None
    opened_before: datetime | None = None

    def clauses(self, args: list[object], closed_statuses: Sequence[str]) -> list[str]:
        found = []
        for sql, value in (
            ("category = ${}", self.category),
            ("territorial_unit = ${}", self.territory),
            ("opened_at >= ${}", self.opened_from),
            ("opened_at < ${}", self.opened_before),
        ):
            if value is not None:
                args.append(value)
                found.append(sql.format(len(args)))
        if self.closed is not None:
            args.append(list(closed_statuses))
            found.append(f"{'' if self.closed else 'NOT '}(status = ANY(${len(args)}::text[]))")
        return found


async def public_page(
    pool: asyncpg.Pool, where: PublicFilter, closed_statuses: Sequence[str], after: PageKey | None, limit: int
) -> tuple[list[PublicReport], PageKey | None]:
    """Newest first, at most `limit`, after the key; with the key the next page starts after (None at the end)."""
    args: list[object] = []
    clauses = where.clauses(args, closed_statuses)
    if after is not None:
        args += list(after)
        clauses.append(f"(opened_at, case_id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM cases {'WHERE ' + ' AND '.join(clauses) if clauses else ''} "
        f"ORDER BY opened_at DESC, case_id DESC LIMIT ${len(args)}",
        *args,
    )
    reports = [PublicReport(**dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return reports, (reports[-1].opened_at, reports[-1].case_id) if more else None


async def public_points(
    pool: asyncpg.Pool, where: PublicFilter, closed_statuses: Sequence[str], now: datetime, limit: int
) -> list[tuple[str, float, float, int, int]]:
    """The newest `limit` matching reports with a place: (id, lat, lon to 5 places, closed 1/0, overdue now 1/0),
    as the map sends them (rounded and counted here, so thousands of points need no work in Python)."""
    args: list[object] = []
    clauses = [*where.clauses(args, closed_statuses), "lat IS NOT NULL", "lon IS NOT NULL"]
    args += [list(closed_statuses), now, limit]
    n = len(args)
    rows = await pool.fetch(
        f"""SELECT case_id, round(lat::numeric, 5)::float8, round(lon::numeric, 5)::float8,
                   (status = ANY(${n - 2}::text[]))::int,
                   (NOT status = ANY(${n - 2}::text[]) AND due_at IS NOT NULL AND due_at < ${n - 1})::int
            FROM cases WHERE {" AND ".join(clauses)} ORDER BY opened_at DESC, case_id DESC LIMIT ${n}""",
        *args,
    )
    return [tuple(r) for r in rows]


async def public_report(pool: asyncpg.Pool, case_id: str) -> PublicReport | None:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM cases WHERE case_id = $1", case_id)
    return PublicReport(**dict(row)) if row else None
