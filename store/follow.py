"""Reporters' follow links for reports filed on the public pages (`report_follow`, migration 0022).

Only each link token's SHA-256 is kept: the row finds the case for a link presented, and never gives a link out.
"""

from __future__ import annotations

import asyncpg


async def save_follow(pool: asyncpg.Pool, token_sha256: str, report_key: str, case_id: str) -> None:
    """Idempotent: a retried report (the same key) keeps its first row."""
    await pool.execute(
        "INSERT INTO report_follow (token_sha256, report_key, case_id) VALUES ($1, $2, $3) "
        "ON CONFLICT (report_key) DO NOTHING",
        token_sha256,
        report_key,
        case_id,
    )


async def followed_case(pool: asyncpg.Pool, token_sha256: str) -> str | None:
    """The case a follow link's token leads to, or None."""
    return await pool.fetchval("SELECT case_id FROM report_follow WHERE token_sha256 = $1", token_sha256)


async def case_of_report(pool: asyncpg.Pool, report_key: str) -> str | None:
    """The case a report key was already filed into (a retried form), or None."""
    return await pool.fetchval("SELECT case_id FROM report_follow WHERE report_key = $1", report_key)
