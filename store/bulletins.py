"""The weekly bulletins' SQL: each week's number (第N期), given once and kept with the checkpoint it prints,
and the rungs of the ladder reached in a week, with the case's report and where it stands."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from rectify.domain.checkpoints import Checkpoint
from rectify.store import locks


async def bulletin_number(pool: asyncpg.Pool, week: str) -> tuple[int, Checkpoint | None]:
    """The week's bulletin number (given now if new, kept forever) and the checkpoint fixed with it."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.BULLETIN_NUMBER)
        await conn.execute(
            """INSERT INTO bulletins (week, number, checkpoint_number)
               SELECT $1, coalesce(max(number), 0) + 1, (SELECT max(number) FROM checkpoints) FROM bulletins
               ON CONFLICT (week) DO NOTHING""",
            week,
        )
        row = await conn.fetchrow("SELECT number, checkpoint_number FROM bulletins WHERE week = $1", week)
        cp = await conn.fetchrow("SELECT * FROM checkpoints WHERE number = $1", row["checkpoint_number"])
    return row["number"], Checkpoint(**dict(cp)) if cp else None


async def rungs_reached(pool: asyncpg.Pool, start: datetime, end: datetime, level: int) -> list[asyncpg.Record]:
    """Every rung of `level` reached in [start, end): case_id, the rung's and the report's bodies, grid_id and
    category from the read model; by unit, then time."""
    return await pool.fetch(
        """SELECT r.case_id, r.body AS rung, first.body AS report, c.grid_id, c.category
           FROM events r
           JOIN events first ON first.case_id = r.case_id AND first.version = 1
           LEFT JOIN cases c ON c.case_id = r.case_id
           WHERE r.type = 'escalation_raised' AND (r.body->>'level')::int = $3
             AND r.occurred_at >= $1 AND r.occurred_at < $2
           ORDER BY r.body->>'unit', r.occurred_at, r.case_id""",
        start,
        end,
        level,
    )
