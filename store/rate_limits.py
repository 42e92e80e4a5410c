"""The API's token buckets in PostgreSQL (migration 0014): one per caller, shared by every API replica.

`take` calls `rectify_rate_take`, which refills a bucket by the time since its last request at `rate` tokens a
second (up to `burst`) and spends one token if there is one, under the row's lock, with the database's clock: two
replicas, or twenty, allow a caller `rate` requests a second together, and never more than `burst` at once.
The table is UNLOGGED: a crash forgets the buckets (everyone starts full), which costs nothing that matters.
"""

from __future__ import annotations

import asyncpg


async def take(pool: asyncpg.Pool, caller: str, rate: float, burst: int) -> float:
    """0 when `caller` may go now (a token is spent), else the seconds until a token is there."""
    return float(await pool.fetchval("SELECT rectify_rate_take($1, $2, $3)", caller, float(rate), float(burst)))


async def prune(pool: asyncpg.Pool, idle_s: float = 3600) -> int:
    """Forget buckets idle for `idle_s` seconds (they would be full again anyway); returns how many."""
    result = await pool.execute(
        "DELETE FROM api_rate_buckets WHERE updated_at < clock_timestamp() - make_interval(secs => $1)", idle_s
    )
    return int(result.split()[-1])
