"""API keys per actor: `rk_<id>_<secret>`; only the secret's SHA-256 is stored, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import asyncpg

from rectify.domain.types import Actor, Frozen, Role


class ApiKey(Frozen):
    key_id: str
    unit_id: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def actor(self) -> Actor:
        return Actor(unit_id=self.unit_id, role=self.role)


class ApiKeyError(ValueError):
    """An unknown, malformed or revoked key."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, unit_id: str, role: Role, label: str = "") -> tuple[str, ApiKey]:
        """A new key: the full key is returned once and never stored."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
        row = await self.pool.fetchrow(
            "INSERT INTO api_keys (key_id, secret_hash, unit_id, role, label) VALUES ($1, $2, $3, $4, $5) RETURNING *",
            key_id, _hash(secret), unit_id, role.value, label,
        )  # fmt: skip
        return f"rk_{key_id}_{secret}", _key(row)

    async def list(self) -> list[ApiKey]:
        return [_key(r) for r in await self.pool.fetch("SELECT * FROM api_keys ORDER BY created_at, key_id")]

    async def revoke(self, key_id: str) -> ApiKey:
        row = await self.pool.fetchrow(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE key_id = $1 RETURNING *",
            key_id,
        )
        if row is None:
            raise ApiKeyError(f"no key {key_id}")
        return _key(row)

    async def verify(self, presented: str) -> ApiKey:
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != "rk":
            raise ApiKeyError("malformed api key")
        row = await self.pool.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", parts[1])
        if row is None or not hmac.compare_digest(row["secret_hash"], _hash(parts[2])):
            raise ApiKeyError("unknown api key")
        if row["revoked_at"] is not None:
            raise ApiKeyError("this api key was revoked")
        return _key(row)


def _key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(**{k: row[k] for k in ("key_id", "unit_id", "role", "label", "created_at", "revoked_at")})
