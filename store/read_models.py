"""The case list as the edges read it, from the `cases` read model: pages with filters and a scope, counts by
status, Open311's search, cases by id, and the open cases near a spot (duplicate detection).

A page is the rows after a key (opened_at, case_id), so a page costs the same however deep it is and a case
opened meanwhile never shifts the next page. `scope_unit` restricts a query to one lead unit: the web pages pass
the signed-in unit's id there, so another unit's case never leaves the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from rectify.store.projections import CaseRow

#: The key of the last row of a page: the next page starts after it.
PageKey = tuple[datetime, str]


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    category: str | None = None
    lead_unit: str | None = None
    grid_id: str | None = None
    escalation_level: int | None = None
    #: Always applied when set, whatever `lead_unit` says: the caller's own unit.
    scope_unit: str | None = None

    def clauses(self, args: list[object]) -> list[str]:
        found = []
        for column, value in (
            ("status", self.status),
            ("category", self.category),
            ("lead_unit", self.lead_unit),
            ("grid_id", self.grid_id),
            ("escalation_level", self.escalation_level),
            ("lead_unit", self.scope_unit),
        ):
            if value is not None:
                args.append(value)
                found.append(f"{column} = ${len(args)}")
        return found


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    next_key: PageKey | None


async def case_rows(
    pool: asyncpg.Pool, where: CaseFilter, after: PageKey | None, limit: int, *, newest_first: bool = True
) -> list[CaseRow]:
    """At most `limit` rows matching `where` after the key `after`, newest (or oldest) first."""
    order, beyond = ("DESC", "<") if newest_first else ("ASC", ">")
    args: list[object] = []
    clauses = where.clauses(args)
    if after is not None:
        args += list(after)
        clauses.append(f"(opened_at, case_id) {beyond} (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    sql = (
        f"SELECT * FROM cases {'WHERE ' + ' AND '.join(clauses) if clauses else ''} "
        f"ORDER BY opened_at {order}, case_id {order} LIMIT ${len(args)}"
    )
    return [CaseRow(**dict(r)) for r in await pool.fetch(sql, *args)]


async def case_page(pool: asyncpg.Pool, where: CaseFilter, after: PageKey | None = None, limit: int = 50) -> CasePage:
    """One page, newest first, with the key the next page starts after (None on the last page)."""
    rows = await case_rows(pool, where, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return CasePage(rows, (rows[-1].opened_at, rows[-1].case_id) if more else None)


async def status_counts(pool: asyncpg.Pool, scope_unit: str | None = None) -> dict[str, int]:
    """How many cases stand in each status, within the scope."""
    rows = await pool.fetch(
        "SELECT status, count(*) AS n FROM cases WHERE ($1::text IS NULL OR lead_unit = $1) GROUP BY status",
        scope_unit,
    )
    return {r["status"]: r["n"] for r in rows}


async def busiest_units(pool: asyncpg.Pool, open_statuses: Sequence[str], limit: int) -> list[str]:
    """The lead units with the most open cases (then the most cases, then by id): who has work waiting."""
    rows = await pool.fetch(
        """SELECT lead_unit FROM cases WHERE lead_unit IS NOT NULL GROUP BY lead_unit
           ORDER BY count(*) FILTER (WHERE status = ANY($1::text[])) DESC, count(*) DESC, lead_unit LIMIT $2""",
        list(open_statuses),
        limit,
    )
    return [r["lead_unit"] for r in rows]


class CaseQueries:
    """The API's reads of the case list (Open311 and /v1)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def requests_between(
        self,
        start: datetime,
        end: datetime,
        categories: Sequence[str] | None,
        closed: bool | None,
        closed_statuses: Sequence[str],
        limit: int,
    ) -> list[CaseRow]:
        """Open311's search: opened within [start, end], of some categories, open or closed, newest first."""
        rows = await self.pool.fetch(
            """SELECT * FROM cases WHERE opened_at >= $1 AND opened_at <= $2
               AND ($3::text[] IS NULL OR category = ANY($3::text[]))
               AND ($4::boolean IS NULL OR $4 = (status = ANY($5::text[])))
               ORDER BY opened_at DESC, case_id LIMIT $6""",
            start,
            end,
            list(categories) if categories is not None else None,
            closed,
            sorted(str(s) for s in closed_statuses),
            limit,
        )
        return [CaseRow(**dict(r)) for r in rows]

    async def cases_by_id(self, case_ids: Sequence[str]) -> list[CaseRow]:
        rows = await self.pool.fetch("SELECT * FROM cases WHERE case_id = ANY($1::text[])", list(case_ids))
        found = {r["case_id"]: CaseRow(**dict(r)) for r in rows}
        return [found[i] for i in dict.fromkeys(case_ids) if i in found]

    async def cases_page(
        self,
        *,
        status: str | None,
        category: str | None,
        lead_unit: str | None,
        grid_id: str | None,
        escalation_level: int | None,
        after: PageKey | None,
        newest_first: bool,
        limit: int,
    ) -> list[CaseRow]:
        """One page of /v1's case list: at most `limit` rows after `after`."""
        where = CaseFilter(status, category, lead_unit, grid_id, escalation_level)
        return await case_rows(self.pool, where, after, limit, newest_first=newest_first)
