"""What operators watch, read from the store: readiness, and the business gauges behind /metrics.

Every figure is one cheap aggregate over an indexed table, read at scrape time, so every API replica reports
the same numbers (they describe the system, not the replica).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import asyncpg


async def ping(pool: asyncpg.Pool) -> None:
    """Raises when PostgreSQL does not answer."""
    await pool.fetchval("SELECT 1")


async def gauges(pool: asyncpg.Pool, open_statuses: Collection[str], now: datetime | None = None) -> dict[str, Any]:
    """Cases by status; open cases past their deadline by escalation level; the outbox's backlog (notices not
    yet filed in the inboxes, not yet fanned out to the channels); deliveries pending; dead letters not yet
    retried; seconds since the last checkpoint (None: none yet). `now`: the database's clock unless given."""
    async with pool.acquire() as conn:
        statuses = await conn.fetch("SELECT status, count(*) AS n FROM cases GROUP BY status")
        overdue = await conn.fetch(
            "SELECT escalation_level AS level, count(*) AS n FROM cases "
            "WHERE status = ANY($1::text[]) AND due_at < coalesce($2, clock_timestamp()) GROUP BY escalation_level",
            list(open_statuses),
            now,
        )
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM outbox WHERE delivered_at IS NULL) AS inbox_backlog, "
            "(SELECT count(*) FROM outbox WHERE channels_at IS NULL) AS channels_backlog, "
            "(SELECT count(*) FROM notice_deliveries WHERE state = 'pending') AS deliveries_pending, "
            "(SELECT count(*) FROM notice_dead_letters WHERE retried_at IS NULL) AS notices_failed, "
            "(SELECT extract(epoch FROM clock_timestamp() - max(created_at))::float8 FROM checkpoints) "
            "AS checkpoint_age_s"
        )
    return {
        "cases": {r["status"]: r["n"] for r in statuses},
        "overdue": {r["level"]: r["n"] for r in overdue},
        **dict(row),
    }
