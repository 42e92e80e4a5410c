"""SQL migrations: plain files applied in order, each once, recorded with its checksum."""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncpg
import structlog

from rectify.store import locks
from rectify.store.connection import connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

log = structlog.get_logger("rectify.store")


class MigrationError(RuntimeError):
    pass


def migration_files() -> list[tuple[str, str, str]]:
    """(name, sql, sha256) for every migration, in order."""
    files = sorted(MIGRATIONS_DIR.glob("*.sql"))
    return [(f.name, sql := f.read_text("utf-8"), hashlib.sha256(sql.encode()).hexdigest()) for f in files]


async def migrate(pool: asyncpg.Pool | asyncpg.Connection) -> list[str]:
    """Apply the migrations not yet applied; refuse if an applied file was edited. Returns names applied."""
    async with connection(pool) as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", locks.MIGRATION)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY, sha256 text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            applied = {r["name"]: r["sha256"] for r in await conn.fetch("SELECT name, sha256 FROM schema_migrations")}
            done: list[str] = []
            for name, sql, digest in migration_files():
                if name in applied:
                    if applied[name] != digest:
                        raise MigrationError(
                            f"store/migrations/{name} was changed after it was applied; "
                            "add a new migration instead of editing an old one"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", name, digest)
                done.append(name)
                log.info("store.migrated", migration=name)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", locks.MIGRATION)


async def migration_status(pool: asyncpg.Pool | asyncpg.Connection) -> tuple[list[str], list[str]]:
    """(migrations not applied yet, applied migrations whose file has changed since), read without changing."""
    async with connection(pool) as conn:
        if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            return [name for name, _, _ in migration_files()], []
        applied = {r["name"]: r["sha256"] for r in await conn.fetch("SELECT name, sha256 FROM schema_migrations")}
    files = migration_files()
    pending = [name for name, _, _ in files if name not in applied]
    changed = [name for name, _, digest in files if name in applied and applied[name] != digest]
    return pending, changed
