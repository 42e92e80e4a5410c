"""SQL migrations: plain files applied in order, each once, recorded with its checksum.

A migration that changes what the case list's rows hold names those columns on a line of its own,

    -- rectify: reproject cases (column, column, ...)

and they are computed again for every row from the events (store/projections.py), in the migration's own
transaction, so a store written before the migration still agrees with a rebuild of its read models after it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import asyncpg
import structlog

from rectify.domain.events import EVENT_LIST_ADAPTER, PROCEEDING_PREFIX
from rectify.domain.state import fold
from rectify.store import locks
from rectify.store.connection import Conn, connection
from rectify.store.projections import CASE_COLUMNS, case_row

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_REPROJECT = re.compile(r"^-- rectify: reproject cases \(([a-z_, ]+)\)$", re.M)

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
                    for named in _REPROJECT.findall(sql):
                        await _reproject_cases(conn, name, [c.strip() for c in named.split(",")])
                    await conn.execute("INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", name, digest)
                done.append(name)
                log.info("store.migrated", migration=name)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", locks.MIGRATION)


async def _reproject_cases(conn: Conn, migration: str, columns: list[str]) -> None:
    """`columns` of every case's row, folded again from its events (a stream that does not fold keeps its row:
    the audit names it)."""
    if unknown := [c for c in columns if c not in CASE_COLUMNS or c == "case_id"]:
        raise MigrationError(f"store/migrations/{migration} reprojects columns the case list does not have: {unknown}")
    rows: list[tuple] = []

    def project(case_id: str | None, bodies: list) -> None:
        if case_id is None:
            return
        try:
            state = fold(
                EVENT_LIST_ADAPTER.validate_python([json.loads(b) if isinstance(b, str) else b for b in bodies])
            )
        except (ValueError, TypeError):
            return
        if state is not None:
            row = case_row(state)
            rows.append((case_id, *(getattr(row, c) for c in columns)))

    stream: str | None = None
    bodies: list = []
    query = "SELECT case_id, body FROM events WHERE left(case_id, length($1)) <> $1 ORDER BY case_id, version"
    async for record in conn.cursor(query, PROCEEDING_PREFIX, prefetch=2000):
        if record["case_id"] != stream:
            project(stream, bodies)
            stream, bodies = record["case_id"], []
        bodies.append(record["body"])
    project(stream, bodies)
    listed = ", ".join(columns)
    await conn.execute(f"CREATE TEMP TABLE reprojected ON COMMIT DROP AS SELECT case_id, {listed} FROM cases LIMIT 0")
    await conn.copy_records_to_table("reprojected", records=rows, columns=["case_id", *columns])
    sets = ", ".join(f"{c} = r.{c}" for c in columns)
    await conn.execute(f"UPDATE cases c SET {sets} FROM reprojected r WHERE c.case_id = r.case_id")
    log.info("store.reprojected", migration=migration, cases=len(rows), columns=columns)


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
