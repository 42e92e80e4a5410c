"""Pages of the case list for people: filters, a scope, and keyset pagination from the `cases` read model.

A page is the rows after a key (opened_at, case_id), newest first, so a page costs the same however deep
it is and a case opened meanwhile never shifts the next page. `scope_unit` restricts every query to one
lead unit: the web pages pass the signed-in unit's id there, so another unit's case never leaves the store.
"""

from __future__ import annotations

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
    #: Always applied when set, whatever `lead_unit` says: the caller's own unit.
    scope_unit: str | None = None

    def clauses(self, args: list[object]) -> list[str]:
        found = []
        for column, value in (
            ("status", self.status),
            ("category", self.category),
            ("lead_unit", self.lead_unit),
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


async def case_page(pool: asyncpg.Pool, where: CaseFilter, after: PageKey | None = None, limit: int = 50) -> CasePage:
    args: list[object] = []
    clauses = where.clauses(args)
    if after is not None:
        args += list(after)
        clauses.append(f"(opened_at, case_id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    sql = (
        f"SELECT * FROM cases {'WHERE ' + ' AND '.join(clauses) if clauses else ''} "
        f"ORDER BY opened_at DESC, case_id DESC LIMIT ${len(args)}"
    )
    rows = [CaseRow(**dict(r)) for r in await pool.fetch(sql, *args)]
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
