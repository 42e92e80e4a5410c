"""Checkpoints: a Merkle root over every chain head at one global position, chained one to the next.

A per-case hash chain shows an edited event, but not a case deleted whole or a tail cut off. A
checkpoint does: recomputing its root from the store must give the same value, and the roots are
printed where others keep copies (the weekly bulletin, every export bundle).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from rectify.domain.canonical import GENESIS_HASH, checkpoint_hash, heads_root
from rectify.domain.types import Frozen

_CHECKPOINT_LOCK = 7_310_425_003


class Checkpoint(Frozen):
    number: int
    position: int
    cases: int
    root: str
    prev_hash: str
    hash: str
    created_at: datetime | None = None

    def expected_hash(self) -> str:
        return checkpoint_hash(self.number, self.position, self.cases, self.root, self.prev_hash)


async def heads_at(conn: asyncpg.Connection, position: int) -> list[tuple[str, int, str]]:
    """Every case's last (version, hash) among the events at or before `position`."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (case_id) case_id, version, hash FROM events
           WHERE position <= $1 ORDER BY case_id, version DESC""",
        position,
    )
    return [(r["case_id"], r["version"], r["hash"]) for r in rows]


async def record_checkpoint(pool: asyncpg.Pool) -> Checkpoint:
    """Take a checkpoint of the store as it is now (appends carry on meanwhile)."""
    async with pool.acquire() as conn:
        # A session lock taken before the snapshot, so two checkpoints never share a number or go backwards.
        await conn.execute("SELECT pg_advisory_lock($1)", _CHECKPOINT_LOCK)
        try:
            async with conn.transaction(isolation="repeatable_read"):
                # Positions are given out under a lock held to commit, so a snapshot sees a gap-free prefix.
                position = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
                heads = await heads_at(conn, position)
                last = await conn.fetchrow("SELECT number, hash FROM checkpoints ORDER BY number DESC LIMIT 1")
                number, prev = (last["number"] + 1, last["hash"]) if last else (1, GENESIS_HASH)
                root = heads_root(heads)
                digest = checkpoint_hash(number, position, len(heads), root, prev)
                row = await conn.fetchrow(
                    "INSERT INTO checkpoints (number, position, cases, root, prev_hash, hash) "
                    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
                    number, position, len(heads), root, prev, digest,
                )  # fmt: skip
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _CHECKPOINT_LOCK)
    return Checkpoint(**dict(row))


async def checkpoints(pool: asyncpg.Pool) -> list[Checkpoint]:
    rows = await pool.fetch("SELECT * FROM checkpoints ORDER BY number")
    return [Checkpoint(**dict(r)) for r in rows]


async def latest_checkpoint(pool: asyncpg.Pool) -> Checkpoint | None:
    row = await pool.fetchrow("SELECT * FROM checkpoints ORDER BY number DESC LIMIT 1")
    return Checkpoint(**dict(row)) if row else None
