"""The duplicate rule's one query: open cases near a new report, from the `cases` read model.

The domain bounds the search (`domain.duplicates.search_area`) and decides among what comes back
(`duplicate_of`); every intake path (SDK, CLI, Open311, simulation) asks through this function.
"""

from __future__ import annotations

import asyncpg

from rectify.domain.duplicates import Candidate, SearchArea
from rectify.domain.types import CaseStatus, Point


async def nearby_open_cases(pool: asyncpg.Pool, area: SearchArea) -> list[Candidate]:
    rows = await pool.fetch(
        """SELECT case_id, category, lon, lat, opened_at, status FROM cases
           WHERE category = $1 AND status = ANY($2::text[]) AND opened_at >= $3
           AND lon BETWEEN $4 AND $5 AND lat BETWEEN $6 AND $7""",
        area.category,
        sorted(area.statuses),
        area.since,
        area.min_lon,
        area.max_lon,
        area.min_lat,
        area.max_lat,
    )
    return [
        Candidate(
            case_id=r["case_id"],
            category=r["category"],
            location=Point(lon=r["lon"], lat=r["lat"]),
            opened_at=r["opened_at"],
            status=CaseStatus(r["status"]),
        )
        for r in rows
    ]
