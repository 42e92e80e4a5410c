"""The seals (migration 0009): the database seals each event's position and recording time as Python computes
them, the record's clock never goes back, and a store written before the seals is sealed by the migration
with its checkpoints still verifying."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from rectify.audit.verify import verify
from rectify.domain.canonical import CHECKPOINT_FORMAT, GENESIS_HASH, checkpoint_hash, heads_root, seal_hash
from rectify.domain.state import fold
from rectify.store import EventStore, migrate
from rectify.store.checkpoints import checkpoints, record_checkpoint
from rectify.store.migrate import migration_files
from tests.support.audit import as_superuser, problems
from tests.support.given import claimed, reported


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    s = await EventStore.connect(fresh_database_url)
    await migrate(s.pool)
    yield s
    await s.close()


async def append_case(store: EventStore, key: str) -> str:
    events = reported(key)
    await store.append(events[0].case_id, 0, events, fold(events))
    more = claimed(fold(events))
    await store.append(events[0].case_id, len(events), more, fold(more, fold(events)))
    return events[0].case_id


async def test_the_database_seals_as_python_does(store: EventStore) -> None:
    case_id = await append_case(store, "a")
    rows = await store.pool.fetch(
        "SELECT position, recorded_at, hash, seal FROM events WHERE case_id = $1 ORDER BY version", case_id
    )
    assert len(rows) >= 3
    prev = GENESIS_HASH
    for row in rows:
        prev = seal_hash(prev, row["position"], row["recorded_at"], row["hash"])
        assert row["seal"] == prev
    # one recording time per append: the report's events share one, the claim's come later
    assert len({row["recorded_at"] for row in rows}) == 2


async def test_the_record_s_clock_never_goes_back(store: EventStore) -> None:
    await append_case(store, "a")
    # As if the database's clock had stepped back by an hour since the last append.
    ahead = await store.pool.fetchval("SELECT max(recorded_at) FROM events") + timedelta(hours=1)
    last = "UPDATE events SET recorded_at = $1 WHERE position = (SELECT max(position) FROM events)"
    await as_superuser(store, last, ahead)
    case_id = await append_case(store, "b")
    times = await store.pool.fetch("SELECT recorded_at FROM events WHERE case_id = $1", case_id)
    assert {row["recorded_at"] for row in times} == {ahead}


async def test_a_store_from_before_the_seals_is_sealed_by_its_migration(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:  # the store as it was before migration 0009, applied as `migrate` applies it
        await conn.execute(
            "CREATE TABLE schema_migrations (name text PRIMARY KEY, sha256 text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for name, sql, digest in migration_files():
            if name < "0009":
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", name, digest)
    finally:
        await conn.close()
    store = await EventStore.connect(fresh_database_url)
    try:
        for key in "abc":
            await append_case(store, key)
        heads = await store.pool.fetch(
            "SELECT DISTINCT ON (case_id) case_id, version, hash FROM events ORDER BY case_id, version DESC"
        )
        position = await store.pool.fetchval("SELECT max(position) FROM events")
        root = heads_root([(r["case_id"], r["version"], r["hash"]) for r in heads])
        await store.pool.execute(  # a checkpoint of format 1, as record_checkpoint wrote them then
            "INSERT INTO checkpoints (number, position, cases, root, prev_hash, hash) VALUES (1, $1, $2, $3, $4, $5)",
            position,
            len(heads),
            root,
            GENESIS_HASH,
            checkpoint_hash(1, position, len(heads), root, GENESIS_HASH),
        )

        assert (await migrate(store.pool))[0] == "0009_seals.sql"  # and any later ones
        report = await verify(store)
        assert report.ok, problems(report)
        assert [cp.format for cp in await checkpoints(store.pool)] == [1]

        await append_case(store, "d")
        await record_checkpoint(store.pool)
        report = await verify(store)
        assert report.ok, problems(report)
        assert [cp.format for cp in await checkpoints(store.pool)] == [1, CHECKPOINT_FORMAT]
    finally:
        await store.close()
