"""Administering the server rather than the record: databases, the simulation's reset, auditor logins.

Kept here with the rest of the SQL. Names that cannot be parameters (databases, roles) are quoted by the
server (`format('%I')`) or, for databases named by our own code, double-quoted here.
"""

from __future__ import annotations

import asyncpg


async def create_database(server_url: str, name: str, *, template: str | None = None, replace: bool = False) -> None:
    """A new database on the server at `server_url` (a copy of `template` when given)."""
    admin = await asyncpg.connect(server_url)
    try:
        if replace:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await admin.close()


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def cases_not_from(database_url: str, key_prefix: str) -> int:
    """How many cases were reported with an idempotency key not starting with `key_prefix` (0 without a schema)."""
    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('public.events') IS NOT NULL"):
            return 0
        return await conn.fetchval(
            "SELECT count(*) FROM events WHERE type = 'case_reported' AND body->>'idempotency_key' NOT LIKE $1",
            f"{key_prefix}%",
        )
    finally:
        await conn.close()


async def drop_schema(database_url: str) -> None:
    """Every table, function and row of the database gone: the next `migrate` starts from nothing."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def holds_events(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval("SELECT EXISTS (SELECT 1 FROM events)")


async def add_auditor(pool: asyncpg.Pool, name: str, password: str | None) -> None:
    """A login in the SELECT-only role `rectify_auditor` (migration 0004); its password set when given."""
    async with pool.acquire() as conn:
        # Role statements take no parameters: let the server quote the name and password (%I, %L).
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name):
            create = "SELECT format('CREATE ROLE %I LOGIN IN ROLE rectify_auditor', $1::text)"
            await conn.execute(await conn.fetchval(create, name))
        if password:
            alter = "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)"
            await conn.execute(await conn.fetchval(alter, name, password))
