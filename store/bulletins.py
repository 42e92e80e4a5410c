"""The weekly bulletins' SQL: each week's number (第N期), given once and kept with the checkpoint it prints,
and the rungs of the ladder reached in a week, with the case's report and where it stands."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

import asyncpg

from rectify.domain.checkpoints import Checkpoint
from rectify.store import locks
from rectify.store.connection import Conn


class IssuedBulletin(NamedTuple):
    """A numbered week: its number, ISO week, issue date (None before migration 0014) and printed checkpoint."""

    number: int
    week: str
    issued_on: date | None
    checkpoint: Checkpoint | None


async def _issued(conn: Conn, row: asyncpg.Record | None) -> IssuedBulletin | None:
    if row is None:
        return None
    cp = await conn.fetchrow("SELECT * FROM checkpoints WHERE number = $1", row["checkpoint_number"])
    return IssuedBulletin(row["number"], row["week"], row["issued_on"], Checkpoint(**dict(cp)) if cp else None)


async def bulletin_number(pool: asyncpg.Pool, week: str, issued_on: date | None = None) -> IssuedBulletin:
    """The week's bulletin (numbered now, on `issued_on`, if new; kept forever) and the checkpoint fixed with it."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", locks.BULLETIN_NUMBER)
        await conn.execute(
            """INSERT INTO bulletins (week, number, checkpoint_number, issued_on)
               SELECT $1, coalesce(max(number), 0) + 1, (SELECT max(number) FROM checkpoints), $2 FROM bulletins
               ON CONFLICT (week) DO NOTHING""",
            week,
            issued_on,
        )
        row = await conn.fetchrow(
            "SELECT number, week, issued_on, checkpoint_number FROM bulletins WHERE week = $1", week
        )
        issued = await _issued(conn, row)
    assert issued is not None
    return issued


async def issued_bulletin(pool: asyncpg.Pool, number: int) -> IssuedBulletin | None:
    """Bulletin 第`number`期 as it was numbered, or None; gives no number."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT number, week, issued_on, checkpoint_number FROM bulletins WHERE number = $1", number
        )
        return await _issued(conn, row)


async def issued_bulletins(pool: asyncpg.Pool) -> list[tuple[int, str, date | None]]:
    """Every numbered bulletin as (number, week, issued_on), newest number first."""
    rows = await pool.fetch("SELECT number, week, issued_on FROM bulletins ORDER BY number DESC")
    return [(r["number"], r["week"], r["issued_on"]) for r in rows]


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
