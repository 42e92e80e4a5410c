"""Checkpoints in the store: taken, listed, and the chain heads one covers (the model: domain/checkpoints.py).

From format 2 (migration 0009) the root also covers each head's seal, which covers the position and
recording time of every event of that case, and the checkpoint's own time: every event it covers was
recorded at or before that time (docs/audit.md).
"""

from __future__ import annotations

import asyncpg

from rectify.domain.canonical import CHECKPOINT_FORMAT, GENESIS_HASH, checkpoint_hash, checkpoint_root
from rectify.domain.checkpoints import Checkpoint
from rectify.store import locks


async def heads_at(conn: asyncpg.Connection | asyncpg.Pool, position: int) -> list[tuple[str, int, str, str]]:
    """Every case's last (version, hash, seal) among the events at or before `position`."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (case_id) case_id, version, hash, seal FROM events
           WHERE position <= $1 ORDER BY case_id, version DESC""",
        position,
    )
    return [(r["case_id"], r["version"], r["hash"], r["seal"]) for r in rows]


async def record_checkpoint(pool: asyncpg.Pool) -> Checkpoint:
    """Take a checkpoint of the store as it is now (appends carry on meanwhile)."""
    async with pool.acquire() as conn:
        # A session lock taken before the snapshot, so two checkpoints never share a number or go backwards.
        await conn.execute("SELECT pg_advisory_lock($1)", locks.CHECKPOINT)
        try:
            async with conn.transaction(isolation="repeatable_read"):
                # Positions are given out under a lock held to commit, so a snapshot sees a gap-free prefix. Its
                # time is read after the snapshot began: every event it sees was recorded (and committed) before.
                # (recorded_at never goes back with position, so the last event's is the latest.)
                now = await conn.fetchrow(
                    """SELECT coalesce(e.position, 0) AS position, greatest(clock_timestamp(), e.recorded_at) AS at
                       FROM (SELECT 1) one LEFT JOIN LATERAL (
                           SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1) e ON true"""
                )
                position, at = now["position"], now["at"]
                heads = await heads_at(conn, position)
                last = await conn.fetchrow("SELECT number, hash FROM checkpoints ORDER BY number DESC LIMIT 1")
                number, prev = (last["number"] + 1, last["hash"]) if last else (1, GENESIS_HASH)
                root = checkpoint_root(position, at, heads)
                digest = checkpoint_hash(number, position, len(heads), root, prev, at)
                row = await conn.fetchrow(
                    "INSERT INTO checkpoints (number, position, cases, root, prev_hash, hash, created_at, format) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
                    number,
                    position,
                    len(heads),
                    root,
                    prev,
                    digest,
                    at,
                    CHECKPOINT_FORMAT,
                )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", locks.CHECKPOINT)
    return Checkpoint(**dict(row))


async def checkpoints(pool: asyncpg.Pool) -> list[Checkpoint]:
    rows = await pool.fetch("SELECT * FROM checkpoints ORDER BY number")
    return [Checkpoint(**dict(r)) for r in rows]


async def latest_checkpoint(pool: asyncpg.Pool) -> Checkpoint | None:
    row = await pool.fetchrow("SELECT * FROM checkpoints ORDER BY number DESC LIMIT 1")
    return Checkpoint(**dict(row)) if row else None
