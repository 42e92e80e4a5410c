"""Appends the database refused for good: recorded when an activity gives up, listed by `rectify doctor`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


class UnstorableEvents(Exception):
    """PostgreSQL refused the data itself (SQLSTATE class 22, or text UTF-8 cannot encode): retrying cannot help."""

    def __init__(self, stream_ids: list[str], error: BaseException) -> None:
        self.stream_ids = stream_ids
        #: ascii(): the refused text may hold the very character that was refused.
        self.reason = f"{type(error).__name__}: {ascii(str(error))[1:-1]}"
        super().__init__(f"the store cannot hold the events of {', '.join(stream_ids)}: {self.reason}")


#: What a refusal of the data looks like: PostgreSQL's data exceptions, and Python failing to encode to UTF-8.
UNSTORABLE = (asyncpg.DataError, UnicodeError)


@dataclass(frozen=True)
class AppendFailure:
    id: int
    stream_id: str
    activity: str
    command_id: str | None
    error: str
    failed_at: datetime


async def record_failure(pool: asyncpg.Pool, stream_id: str, activity: str, command_id: str | None, error: str) -> None:
    await pool.execute(
        "INSERT INTO append_failures (stream_id, activity, command_id, error) VALUES ($1, $2, $3, $4)",
        ascii(stream_id)[1:-1],
        activity,
        command_id and ascii(command_id)[1:-1],
        error,
    )


async def list_failures(pool: asyncpg.Pool, limit: int = 20) -> tuple[int, list[AppendFailure]]:
    """How many appends were refused for good, and the latest `limit` of them."""
    total = await pool.fetchval("SELECT count(*) FROM append_failures")
    rows = await pool.fetch("SELECT * FROM append_failures ORDER BY id DESC LIMIT $1", limit)
    return total, [AppendFailure(**dict(r)) for r in rows]
