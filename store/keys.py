"""API keys in the store (`api_keys`): only each secret's SHA-256 is kept (api/keys.py makes and checks keys)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg


class KeyRecords:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(
        self, key_id: str, secret_hash: str, unit_id: str, role: str, label: str, areas: Sequence[str] = ()
    ) -> asyncpg.Record:
        return await self.pool.fetchrow(
            """INSERT INTO api_keys (key_id, secret_hash, unit_id, role, label, areas)
               VALUES ($1, $2, $3, $4, $5, $6::text[]) RETURNING *""",
            key_id,
            secret_hash,
            unit_id,
            role,
            label,
            list(areas),
        )

    async def all(self) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM api_keys ORDER BY created_at, key_id")

    async def get(self, key_id: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", key_id)

    async def revoke(self, key_id: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE key_id = $1 RETURNING *",
            key_id,
        )
