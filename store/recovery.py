"""What `rectify recover` asks the store (client/recover.py): the cases, proceedings and rounds it holds open,
and which streams exist (the top rungs' proceedings, the rounds a Schedule's firing planned)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import asyncpg


async def live_case_ids(pool: asyncpg.Pool, final: Collection[str], closed: str, closed_since: datetime) -> list[str]:
    """Cases not in a `final` status, leaving out those `closed` before `closed_since` (their reopen window is
    over), oldest first."""
    rows = await pool.fetch(
        """SELECT case_id FROM cases
           WHERE NOT (status = ANY($1::text[])) AND (status <> $2 OR closed_at > $3)
           ORDER BY opened_at, case_id""",
        list(final),
        closed,
        closed_since,
    )
    return [r["case_id"] for r in rows]


async def open_proceeding_ids(pool: asyncpg.Pool, closed: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT proceeding_id FROM proceedings WHERE status <> $1 ORDER BY opened_at, proceeding_id", closed
    )
    return [r["proceeding_id"] for r in rows]


async def rungs_reached(pool: asyncpg.Pool, level: int) -> list[tuple[str, int]]:
    """(case, version) of every escalation to `level` in the record."""
    rows = await pool.fetch(
        """SELECT case_id, version FROM events WHERE type = 'escalation_raised' AND (body->>'level')::int = $1
           ORDER BY position""",
        level,
    )
    return [(r["case_id"], r["version"]) for r in rows]


async def streams_present(pool: asyncpg.Pool, stream_ids: Collection[str]) -> set[str]:
    """Which of `stream_ids` hold at least one event."""
    rows = await pool.fetch(
        "SELECT DISTINCT case_id FROM events WHERE case_id = ANY($1::text[]) AND version = 1", list(stream_ids)
    )
    return {r["case_id"] for r in rows}


async def open_round_ids(pool: asyncpg.Pool, status: str) -> list[str]:
    """The rounds in `status` (open), oldest first."""
    rows = await pool.fetch("SELECT round_id FROM rounds WHERE status = $1 ORDER BY planned_at, round_id", status)
    return [r["round_id"] for r in rows]
