"""Checkpoints in the store: taken, listed, and the chain heads one covers (the model: domain/checkpoints.py).

From format 2 (migration 0009) the root also covers each head's seal, which covers the position and
recording time of every event of that case, and the checkpoint's own time: every event it covers was
recorded at or before that time (docs/audit.md). From format 3 (migration 0014) a checkpoint says whether a
verify that passed recorded it, at the position it verified up to.
"""

from __future__ import annotations

import asyncpg

from rectify.domain.canonical import CHECKPOINT_FORMAT, GENESIS_HASH, checkpoint_hash
from rectify.domain.checkpoints import Checkpoint
from rectify.store import fastpath, locks
from rectify.store.connection import Conn

Head = tuple[str, int, str, str]


async def heads_at(conn: Conn | asyncpg.Pool, position: int) -> list[Head]:
    """Every case's last (version, hash, seal) among the events at or before `position` (reads every event)."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (case_id) case_id, version, hash, seal FROM events
           WHERE position <= $1 ORDER BY case_id, version DESC""",
        position,
    )
    return [(r["case_id"], r["version"], r["hash"], r["seal"]) for r in rows]


async def heads_not_after(conn: Conn, position: int) -> list[Head]:
    """The current head (version, hash, seal) of every stream the read models list whose last event is at or
    before `position`: for those streams, their head at `position`. One index probe each.

    The read models only say where to look: a stream missing from them, or listed at another version, is missing
    here, so a root over these heads differs and the verify says so; it never makes a root match wrongly."""
    rows = await conn.fetch(
        """SELECT h.case_id, h.version, h.hash, h.seal
           FROM (SELECT case_id, version FROM cases UNION ALL SELECT proceeding_id, version FROM proceedings) s
           CROSS JOIN LATERAL (SELECT e.case_id, e.version, e.hash, e.seal, e.position FROM events e
                               WHERE e.case_id = s.case_id AND e.version = s.version LIMIT 1) h
           WHERE h.position <= $1""",
        position,
    )
    return [(r["case_id"], r["version"], r["hash"], r["seal"]) for r in rows]


async def record_checkpoint(pool: asyncpg.Pool) -> Checkpoint:
    """Take a checkpoint of the store as it is now (appends carry on meanwhile)."""
    taken = await _record(pool, None, None, None)
    assert taken is not None  # only a verified checkpoint at a given position can be overtaken
    return taken


async def record_verified(
    pool: asyncpg.Pool, verified: str, position: int, heads: list[Head] | None = None
) -> Checkpoint | None:
    """A checkpoint recorded by a verify that passed, at the position it verified up to (with the `heads` there,
    if it knows them), marked "full" or "incremental". None if another checkpoint got further meanwhile:
    checkpoints never go back in position."""
    return await _record(pool, verified, position, heads)


async def _record(
    pool: asyncpg.Pool, verified: str | None, wanted: int | None, heads: list[Head] | None
) -> Checkpoint | None:
    async with pool.acquire() as conn:
        # A session lock taken before the snapshot, so two checkpoints never share a number or go backwards.
        await conn.execute("SELECT pg_advisory_lock($1)", locks.CHECKPOINT)
        try:
            async with conn.transaction(isolation="repeatable_read"):
                last = await conn.fetchrow(
                    "SELECT number, hash, position FROM checkpoints ORDER BY number DESC LIMIT 1"
                )
                if wanted is not None and last is not None and last["position"] > wanted:
                    return None
                # Positions are given out under a lock held to commit, so a snapshot sees a gap-free prefix. Its
                # time is read after the snapshot began: every event it sees was recorded (and committed) before.
                # (recorded_at never goes back with position, so the last event's is the latest.)
                now = await conn.fetchrow(
                    """SELECT coalesce(e.position, 0) AS position, greatest(clock_timestamp(), e.recorded_at) AS at
                       FROM (SELECT 1) one LEFT JOIN LATERAL (
                           SELECT position, recorded_at FROM events WHERE $1::bigint IS NULL OR position <= $1
                           ORDER BY position DESC LIMIT 1) e ON true""",
                    wanted,
                )
                position: int = now["position"]  # the last event at or before `wanted` (0: none yet)
                at = now["at"]
                if heads is None:
                    heads = await heads_at(conn, position)
                number, prev = (last["number"] + 1, last["hash"]) if last else (1, GENESIS_HASH)
                root = fastpath.checkpoint_root(position, at, heads)
                digest = checkpoint_hash(
                    number, position, len(heads), root, prev, at, format=CHECKPOINT_FORMAT, verified=verified
                )
                row = await conn.fetchrow(
                    "INSERT INTO checkpoints (number, position, cases, root, prev_hash, hash, created_at, format, "
                    "verified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
                    number,
                    position,
                    len(heads),
                    root,
                    prev,
                    digest,
                    at,
                    CHECKPOINT_FORMAT,
                    verified,
                )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", locks.CHECKPOINT)
    return Checkpoint(**dict(row))


async def checkpoints(pool: asyncpg.Pool | Conn) -> list[Checkpoint]:
    rows = await pool.fetch("SELECT * FROM checkpoints ORDER BY number")
    return [Checkpoint(**dict(r)) for r in rows]


async def latest_checkpoint(pool: asyncpg.Pool) -> Checkpoint | None:
    row = await pool.fetchrow("SELECT * FROM checkpoints ORDER BY number DESC LIMIT 1")
    return Checkpoint(**dict(row)) if row else None
