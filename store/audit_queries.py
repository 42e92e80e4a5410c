"""What the audit reads beside the chains and read models (store/scan.py): positions, the record in position
order, the events around a case, and the cases of an export's scope. All of it only reads, so it runs under
the auditors' SELECT-only role."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

from rectify.store.connection import Conn

#: Rows fetched per round trip when the audit reads the whole record in position order.
PREFETCH = 2000
Reader = asyncpg.Pool | Conn


async def case_positions(pool: asyncpg.Pool, case_id: str) -> list[asyncpg.Record]:
    """(position, version) of each event of the case, in version order."""
    return await pool.fetch("SELECT position, version FROM events WHERE case_id = $1 ORDER BY version", case_id)


async def position_stats(pool: asyncpg.Pool) -> asyncpg.Record:
    """How many events there are (n), and their lowest (lo) and highest (hi) position."""
    return await pool.fetchrow("SELECT count(*) AS n, min(position) AS lo, max(position) AS hi FROM events")


async def position_gaps(pool: Reader, limit: int = 50, after: int = 0) -> list[asyncpg.Record]:
    """The first `limit` runs of missing positions from `after` on, each as (first, last)."""
    return await pool.fetch(
        """SELECT position + 1 AS first, next - 1 AS last FROM (
               SELECT position, lead(position) OVER (ORDER BY position) AS next FROM events
               WHERE position >= $2) g
           WHERE next > position + 1 ORDER BY position LIMIT $1""",
        limit,
        after,
    )


async def span_stats(conn: Reader, low: int, high: int) -> asyncpg.Record:
    """How many events lie at positions in (low, high] (n), and the lowest (lo) and highest (hi) of them: read
    from the positions' index alone, so a prefix of a million events costs milliseconds."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, min(position) AS lo, max(position) AS hi FROM events WHERE position > $1 "
        "AND position <= $2",
        low,
        high,
    )
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return row


async def export_snapshot(conn: Conn) -> str:
    """The snapshot of `conn`'s (repeatable read) transaction, for another connection to read the same store."""
    snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
    assert isinstance(snapshot, str)  # PostgreSQL's id of it, never NULL
    return snapshot


@contextlib.asynccontextmanager
async def in_snapshot(pool: asyncpg.Pool, snapshot: str) -> AsyncIterator[Conn]:
    """A second connection reading the store exactly as the transaction that exported `snapshot` does (that
    transaction must stay open until this one has begun)."""
    if not re.fullmatch(r"[0-9A-F-]+", snapshot):  # PostgreSQL's own id; SET takes no parameters
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        yield conn


async def event_at(conn: Conn, position: int) -> asyncpg.Record | None:
    """The event at `position` (the columns `in_position_order` reads), if there is one."""
    return await conn.fetchrow(
        "SELECT position, case_id, version, hash, seal, recorded_at FROM events WHERE position = $1", position
    )


async def count_cases(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM cases")


async def max_position(pool: Reader) -> int:
    position = await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    assert position is not None  # coalesce: never NULL
    return position


async def in_position_order(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Record]:
    """Every event's position, case_id, version, hash, seal and recorded_at, in position order, in one snapshot."""
    async with pool.acquire() as conn, conn.transaction():
        query = "SELECT position, case_id, version, hash, seal, recorded_at FROM events ORDER BY position"
        async for row in conn.cursor(query, prefetch=PREFETCH):
            yield row


async def around_case(pool: asyncpg.Pool, case_id: str, reach: int = 2) -> list[asyncpg.Record]:
    """The case's events and those up to `reach` positions before and after each, in position order."""
    return await pool.fetch(
        """SELECT position, case_id, version, recorded_at FROM events WHERE position IN (
               SELECT e.position + d FROM events e, generate_series(-$2::int, $2::int) d WHERE e.case_id = $1)
           ORDER BY position""",
        case_id,
        reach,
    )


async def case_exists(pool: asyncpg.Pool, case_id: str) -> bool:
    return await pool.fetchval("SELECT EXISTS (SELECT 1 FROM events WHERE case_id = $1)", case_id)


async def cases_of_unit(pool: asyncpg.Pool, unit: str, start: datetime, end: datetime) -> list[str]:
    """Every case the unit led, was reassigned or was escalated for, with events in [start, end)."""
    rows = await pool.fetch(
        """SELECT DISTINCT case_id FROM events
           WHERE case_id IN (SELECT case_id FROM events WHERE occurred_at >= $2 AND occurred_at < $3)
             AND (body->'routing'->>'lead_unit' = $1 OR body->>'to_unit' = $1 OR body->>'unit' = $1)
           ORDER BY case_id""",
        unit,
        start,
        end,
    )
    return [r["case_id"] for r in rows]
