"""The append files its notices in the units' inboxes in its own call (migration 0015): one round trip, the outbox
row written as delivered, nothing filed twice when the append is retried; and notices left undelivered before the
migration are filed by it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from rectify.domain.state import fold
from rectify.store import EventStore, migrate
from rectify.store.migrate import migration_files
from tests.support.given import claimed, reported


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    s = await EventStore.connect(fresh_database_url)
    await migrate(s.pool)
    yield s
    await s.close()


async def test_an_append_files_its_notices_and_records_them_delivered(store: EventStore) -> None:
    events = reported("inbox-1")
    state = fold(events)
    await store.append(state.case_id, 0, events, state)
    outbox = await store.pool.fetch("SELECT * FROM outbox WHERE case_id = $1", state.case_id)
    assert outbox and all(r["delivered_at"] is not None and r["attempts"] == 1 for r in outbox)
    inbox = await store.inbox(state.lead_unit)  # type: ignore[arg-type]
    assert sorted(n["notification_id"] for n in inbox) == sorted(r["notification_id"] for r in outbox)
    assert await store.undelivered() == 0 and await store.deliver_outbox(state.case_id) == 0

    claim = claimed(state)
    after = fold([*events, *claim])
    for _ in range(2):  # the second is a retry: answered from what is stored, nothing filed again
        await store.append(state.case_id, state.version, claim, after)
    filed = await store.pool.fetchval("SELECT count(*) FROM inbox WHERE case_id = $1", state.case_id)
    assert filed == await store.pool.fetchval("SELECT count(*) FROM outbox WHERE case_id = $1", state.case_id)


async def test_notices_left_undelivered_before_the_migration_are_filed_by_it(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:  # the store as it was before migration 0015, applied as `migrate` applies it
        await conn.execute(
            "CREATE TABLE schema_migrations (name text PRIMARY KEY, sha256 text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for name, sql, digest in migration_files():
            if name < "0015":
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", name, digest)
    finally:
        await conn.close()
    store = await EventStore.connect(fresh_database_url)
    try:
        events = reported("inbox-2")
        state = fold(events)
        await store.append(state.case_id, 0, events, state)  # the old function: the outbox only
        waiting = await store.undelivered()
        assert waiting > 0 and await store.pool.fetchval("SELECT count(*) FROM inbox") == 0
        assert "0016_append_files_inbox.sql" in await migrate(store.pool)
        assert await store.undelivered() == 0
        assert await store.pool.fetchval("SELECT count(*) FROM inbox WHERE case_id = $1", state.case_id) == waiting
    finally:
        await store.close()
