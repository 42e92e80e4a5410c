"""Many streams' events in one query: a page that lists cases, and the relay wording a batch of notices, read
them so, never one query per stream."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import asyncpg

from rectify.store.connection import Conn


async def stream_bodies(conn: Conn | asyncpg.Pool, stream_ids: Collection[str]) -> dict[str, list[dict[str, Any]]]:
    """The events (their stored JSON bodies, in version order) of each stream; a stream with none is absent."""
    if not stream_ids:
        return {}
    rows = await conn.fetch(
        "SELECT case_id, body FROM events WHERE case_id = ANY($1::text[]) ORDER BY case_id, version", list(stream_ids)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r["case_id"], []).append(r["body"])
    return found
