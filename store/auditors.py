"""Auditors' logins: PostgreSQL roles in rectify_auditor (migration 0004), which read everything and change nothing."""

from __future__ import annotations

import asyncpg


async def add_auditor(pool: asyncpg.Pool, name: str, password: str | None) -> None:
    """Create the login `name` (if new) in rectify_auditor, and set its password when given."""
    async with pool.acquire() as conn:
        # Role statements take no parameters: let the server quote the name and password (%I, %L).
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name):
            create = "SELECT format('CREATE ROLE %I LOGIN IN ROLE rectify_auditor', $1::text)"
            await conn.execute(await conn.fetchval(create, name))
        if password:
            alter = "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)"
            await conn.execute(await conn.fetchval(alter, name, password))
