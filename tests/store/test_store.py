"""The event store on embedded PostgreSQL: atomic optimistic appends, idempotent retries, the chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from rectify.domain.canonical import canonical_json, chain_hash
from rectify.domain.events import event_body
from rectify.domain.state import CaseState, fold
from rectify.store import ConcurrencyError, EventConflict, EventStore, MigrationError, case_row, migrate
from rectify.store.migrate import migration_files
from tests.support.given import T0, claimed, reported


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    s = await EventStore.connect(fresh_database_url)
    await migrate(s.pool)
    yield s
    await s.close()


async def superuser(store: EventStore) -> asyncpg.Connection:
    return await store.pool.acquire()


async def test_migrations_apply_once_and_are_recorded(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        first = await migrate(conn)
        assert first == [name for name, *_ in migration_files()]
        assert await migrate(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(first)
    finally:
        await conn.close()


async def test_an_edited_applied_migration_is_refused(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        await migrate(conn)
        await conn.execute("UPDATE schema_migrations SET sha256 = 'x' WHERE name = '0001_events.sql'")
        with pytest.raises(MigrationError, match=r"0001_events\.sql"):
            await migrate(conn)
    finally:
        await conn.close()


async def test_append_and_load_round_trip_with_the_read_model(store: EventStore) -> None:
    events = reported("rt-1")
    state = fold(events)
    result = await store.append(state.case_id, 0, events, state)
    assert result.last_version == 5 and not result.duplicate
    assert await store.load(state.case_id) == events
    assert await store.get_case(state.case_id) == case_row(state)
    more = claimed(state)
    state2 = fold(more, state)
    await store.append(state.case_id, 5, more, state2)
    assert (await store.get_case(state.case_id)).status == "claimed"
    assert [r.version for r in await store.load_records(state.case_id)] == [1, 2, 3, 4, 5, 6]


async def test_concurrent_appends_to_one_case_one_wins_versions_gap_free(store: EventStore) -> None:
    events = reported("conc-1")
    state = fold(events)
    await store.append(state.case_id, 0, events, state)
    attempts = [claimed(state, n) for n in range(10)]
    results = await asyncio.gather(
        *(store.append(state.case_id, 5, batch, fold(batch, state)) for batch in attempts), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyError) for r in losers) and len(losers) == 9
    assert [e.version for e in await store.load(state.case_id)] == [1, 2, 3, 4, 5, 6]
    assert await store.verify_chains() == []


async def test_a_retried_append_is_idempotent(store: EventStore) -> None:
    events = reported("retry-1")
    state = fold(events)
    first = await store.append(state.case_id, 0, events, state)
    again = await store.append(state.case_id, 0, events, state)
    assert again.duplicate and again.last_position == first.last_position and again.last_hash == first.last_hash
    assert len(await store.load(state.case_id)) == 5


async def test_the_same_event_id_with_other_content_is_a_conflict(store: EventStore) -> None:
    events = reported("conflict-1")
    state = fold(events)
    await store.append(state.case_id, 0, events, state)
    forged = [events[0].model_copy(update={"description": "改过的描述"}), *events[1:]]
    with pytest.raises(EventConflict):
        await store.append(state.case_id, 0, forged, state)


async def test_a_stale_expected_version_is_a_concurrency_error(store: EventStore) -> None:
    events = reported("stale-1")
    state = fold(events)
    await store.append(state.case_id, 0, events, state)
    await store.append(state.case_id, 5, claimed(state, 0), fold(claimed(state, 0), state))
    late = claimed(state, 1)  # decided on version 5 by another writer
    with pytest.raises(ConcurrencyError, match="expected version 5, but the store has version 6"):
        await store.append(state.case_id, 5, late, fold(late, state))


@pytest.mark.parametrize(
    "statement",
    ["UPDATE events SET type = 'x'", "DELETE FROM events", "TRUNCATE events"],
)
async def test_update_delete_and_truncate_are_refused(store: EventStore, statement: str) -> None:
    events = reported("trigger-1")
    state = fold(events)
    await store.append(state.case_id, 0, events, state)
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await store.pool.execute(statement)
    assert await store.load(state.case_id) == events


async def test_jsonb_round_trip_keeps_the_canonical_bytes(store: EventStore) -> None:
    events = reported("canon-1")
    state = fold(events)
    await store.append(state.case_id, 0, events, state)
    for record, event in zip(await store.load_records(state.case_id), events, strict=True):
        assert canonical_json(record.body) == canonical_json(event_body(event))
        assert chain_hash(record.prev_hash, record.body) == record.hash


async def _tamper(store: EventStore, sql: str, *args: object) -> None:
    async with store.pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")


async def _two_cases(store: EventStore) -> tuple[CaseState, CaseState]:
    states = []
    for key in ("tamper-a", "tamper-b"):
        events = reported(key)
        state = fold(events)
        await store.append(state.case_id, 0, events, state)
        more = claimed(state)
        await store.append(state.case_id, 5, more, fold(more, state))
        state = fold(more, state)
        states.append(state)
    assert await store.verify_chains() == []
    return states[0], states[1]


async def test_a_changed_byte_in_a_body_is_detected(store: EventStore) -> None:
    a, _ = await _two_cases(store)
    body = (await store.load_records(a.case_id))[0].body
    body["description"] = body["description"].replace("摊", "滩")
    await _tamper(store, "UPDATE events SET body = $1::jsonb WHERE case_id = $2 AND version = 1", body, a.case_id)
    problems = await store.verify_chains()
    assert [(p.case_id, p.version) for p in problems] == [(a.case_id, 1)]
    assert "hash does not match" in problems[0].problem


async def test_swapped_events_are_detected(store: EventStore) -> None:
    a, _ = await _two_cases(store)
    for old, new in ((2, 1000), (3, 2), (1000, 3)):  # (case_id, version) is unique, so swap through a spare
        await _tamper(store, "UPDATE events SET version = $3 WHERE case_id = $1 AND version = $2", a.case_id, old, new)
    problems = await store.verify_chains(a.case_id)
    assert {p.version for p in problems} >= {2, 3}


async def test_a_forged_event_in_the_middle_is_detected(store: EventStore) -> None:
    a, _ = await _two_cases(store)
    await _tamper(store, "DELETE FROM events WHERE case_id = $1 AND version = 2", a.case_id)
    problems = await store.verify_chains(a.case_id)
    assert any(p.version == 3 and "version gap" in p.problem for p in problems)  # version 2 is gone


async def test_rebuild_recreates_the_read_model_and_repairs_an_edit(store: EventStore) -> None:
    a, b = await _two_cases(store)
    before = await store.list_cases()
    assert (await store.rebuild_read_models()).clean
    assert await store.list_cases() == before
    await store.pool.execute("UPDATE cases SET status = 'closed' WHERE case_id = $1", a.case_id)
    await store.pool.execute("DELETE FROM cases WHERE case_id = $1", b.case_id)
    diff = await store.diff_read_models()
    assert diff.different == [a.case_id] and diff.missing == [b.case_id]
    await store.rebuild_read_models()
    assert await store.list_cases() == before


async def test_append_many_writes_many_cases_in_one_transaction(store: EventStore) -> None:
    batch = []
    for i in range(50):
        events = reported(f"bulk-{i}", T0 + timedelta(seconds=i))
        batch.append((events[0].case_id, 0, events, fold(events)))
    results = await store.append_many(batch)
    assert [r.last_version for r in results] == [5] * 50
    positions = [r.position async for r in store.read_all()]
    assert positions == sorted(positions) and len(positions) == 250
    assert len(await store.list_cases(limit=1000)) == 50
    assert await store.verify_chains() == []
