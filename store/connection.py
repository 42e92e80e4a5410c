"""How every connection to the store is set up: jsonb as Python objects, Chinese kept as it is."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy

#: A connection of our own, or one a pool lends (which stands for a connection in every way we use).
Conn = asyncpg.Connection | PoolConnectionProxy


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: json.dumps(v, ensure_ascii=False), decoder=json.loads, schema="pg_catalog"
    )


@asynccontextmanager
async def connection(target: asyncpg.Pool | Conn) -> AsyncIterator[Conn]:
    """A connection from a pool, or the connection itself."""
    if isinstance(target, asyncpg.Pool):
        async with target.acquire() as conn:
            yield conn
    else:
        yield target
