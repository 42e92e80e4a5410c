"""The work lists of the web pages: a unit's open cases by deadline, the cases awaiting verification, the events
of a list's cases (all in one query), a unit's inbox of notices (read and marked read), and the drafts a form keeps
across an ended session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from rectify.domain.events import EVENT_LIST_ADAPTER, Event
from rectify.store.projections import CaseRow
from rectify.store.streams import stream_bodies

#: How long a draft waits for its author to sign in again.
DRAFT_LIFETIME = timedelta(days=1)


async def cases_by_deadline(pool: asyncpg.Pool, lead_unit: str, statuses: Sequence[str], limit: int) -> list[CaseRow]:
    """The unit's cases in `statuses`, the nearest rectification deadline first (none last), then the oldest."""
    rows = await pool.fetch(
        """SELECT * FROM cases WHERE lead_unit = $1 AND status = ANY($2::text[])
           ORDER BY due_at ASC NULLS LAST, opened_at, case_id LIMIT $3""",
        lead_unit,
        list(statuses),
        limit,
    )
    return [CaseRow(**dict(r)) for r in rows]


async def awaiting_verification(pool: asyncpg.Pool, territories: Sequence[str] | None, limit: int) -> list[CaseRow]:
    """Submitted cases in some streets' (towns') territories or the whole district (None), the longest waiting
    first."""
    rows = await pool.fetch(
        """SELECT * FROM cases WHERE status = 'submitted' AND ($1::text[] IS NULL OR territorial_unit = ANY($1))
           ORDER BY updated_at ASC NULLS FIRST, case_id LIMIT $2""",
        None if territories is None else list(territories),
        limit,
    )
    return [CaseRow(**dict(r)) for r in rows]


async def histories(pool: asyncpg.Pool, case_ids: Sequence[str]) -> dict[str, list[Event]]:
    """Every event of each of these cases, in version order, in one query: a page of a list costs as many
    queries for fifty cases as for one. A case with no events is absent."""
    found = await stream_bodies(pool, case_ids)
    return {case_id: EVENT_LIST_ADAPTER.validate_python(bodies) for case_id, bodies in found.items()}


async def awaiting_by_territory(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT territorial_unit, count(*) AS n FROM cases WHERE status = 'submitted' GROUP BY territorial_unit"
    )
    return {r["territorial_unit"] or "": r["n"] for r in rows}


@dataclass(frozen=True)
class Notice:
    notification_id: str
    case_id: str
    kind: str
    text: str
    received_at: datetime
    read_at: datetime | None
    #: The case's category and description, to name it (None for a proceeding's notice).
    category: str | None = None
    description: str | None = None


async def inbox(pool: asyncpg.Pool, unit_id: str, limit: int) -> list[Notice]:
    """The unit's notices, unread first, newest first within each, each with what its case is about."""
    rows = await pool.fetch(
        """SELECT i.notification_id, i.case_id, i.kind, i.text, i.received_at, i.read_at, c.category, c.description
           FROM inbox i LEFT JOIN cases c ON c.case_id = i.case_id WHERE i.unit_id = $1
           ORDER BY (i.read_at IS NULL) DESC, i.received_at DESC, i.notification_id LIMIT $2""",
        unit_id,
        limit,
    )
    return [Notice(**dict(r)) for r in rows]


async def unread(pool: asyncpg.Pool, unit_id: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM inbox WHERE unit_id = $1 AND read_at IS NULL", unit_id)


async def mark_read(pool: asyncpg.Pool, unit_id: str, notification_ids: Sequence[str] | None) -> int:
    """Mark the unit's own notices read (all of them with None); another unit's ids change nothing."""
    result = await pool.execute(
        """UPDATE inbox SET read_at = clock_timestamp() WHERE unit_id = $1 AND read_at IS NULL
           AND ($2::text[] IS NULL OR notification_id = ANY($2::text[]))""",
        unit_id,
        list(notification_ids) if notification_ids is not None else None,
    )
    return int(result.split()[-1])


async def save_draft(
    pool: asyncpg.Pool, draft_id: str, name: str, case_id: str, action: str, fields: dict[str, Any]
) -> None:
    """Keep a form's text for its author; drafts older than `DRAFT_LIFETIME` go at the same time."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM web_drafts WHERE created_at < clock_timestamp() - $1::interval", DRAFT_LIFETIME)
        await conn.execute(
            "INSERT INTO web_drafts (draft_id, name, case_id, action, fields) VALUES ($1, $2, $3, $4, $5)",
            draft_id,
            name,
            case_id,
            action,
            fields,  # the pool's jsonb codec encodes it
        )


async def take_draft(pool: asyncpg.Pool, draft_id: str, name: str, case_id: str) -> tuple[str, dict[str, Any]] | None:
    """(action, fields) of the author's draft for this case, removed as it is taken; None for anyone else."""
    row = await pool.fetchrow(
        """DELETE FROM web_drafts WHERE draft_id = $1 AND name = $2 AND case_id = $3
           AND created_at >= clock_timestamp() - $4::interval RETURNING action, fields""",
        draft_id,
        name,
        case_id,
        DRAFT_LIFETIME,
    )
    if row is None:
        return None
    return row["action"], row["fields"]
