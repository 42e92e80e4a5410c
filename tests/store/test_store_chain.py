"""The store under concurrent writers (embedded PostgreSQL): positions 1…N without gaps, and the prev-hash link
refused by the append and caught by verification."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from rectify.domain.canonical import chain_hash
from rectify.domain.state import fold
from rectify.store import ConcurrencyError, EventStore, migrate
from rectify.store import append as store_append
from rectify.store.append import Base
from tests.support.given import claimed, reported

CASES, RIVALS = 24, 4
FORGED = "0" * 64


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    s = await EventStore.connect(fresh_database_url, max_size=12)
    await migrate(s.pool)
    yield s
    await s.close()


async def test_positions_run_1_to_n_without_gaps_after_concurrent_racing_and_retried_appends(
    store: EventStore,
) -> None:
    reports = [reported(f"pos-{i}") for i in range(CASES)]
    states = [fold(events) for events in reports]
    opened = await asyncio.gather(*(store.append(s.case_id, 0, e, s) for s, e in zip(states, reports, strict=True)))
    assert {r.duplicate for r in opened} == {False}
    # Every case at once: RIVALS writers claim it on the same version (one wins, the rest lose), while its
    # report is appended again by a retrying activity (answered as a duplicate, nothing written).
    rivals = [(s, claimed(s, n)) for s in states for n in range(RIVALS)]
    results = await asyncio.gather(
        *(store.append(s.case_id, 5, batch, fold(batch, s)) for s, batch in rivals),
        *(store.append(s.case_id, 0, e, s) for s, e in zip(states, reports, strict=True)),
        return_exceptions=True,
    )
    claims, retries = results[: len(rivals)], results[len(rivals) :]
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, ConcurrencyError)]
    assert len([r for r in claims if not isinstance(r, BaseException)]) == CASES  # one winner per case
    assert all(not isinstance(r, BaseException) and r.duplicate for r in retries)

    positions = [r["position"] for r in await store.pool.fetch("SELECT position FROM events ORDER BY position")]
    assert positions == list(range(1, CASES * 6 + 1))
    assert [r.position async for r in store.read_all(batch_size=50)] == positions
    for s in states:
        assert [r.version for r in await store.load_records(s.case_id)] == [1, 2, 3, 4, 5, 6]
    assert await store.verify_chains() == []


async def _a_case(store: EventStore, key: str) -> tuple:
    events = reported(key)
    state = fold(events)
    await store.append(state.case_id, 0, events, state)
    return state, claimed(state)


async def test_an_append_built_on_a_wrong_prev_hash_is_refused_and_writes_nothing(store: EventStore) -> None:
    state, more = await _a_case(store, "link-1")
    head = (await store.load_records(state.case_id))[-1].hash
    document, _ = store_append.payload(
        [(state.case_id, 5, more, fold(more, state))], {state.case_id: Base(5, FORGED, state)}
    )
    with pytest.raises(asyncpg.PostgresError) as refused:
        await store.pool.fetch(store_append.CALL, document)
    assert store_append.moved(refused.value) == {"case_id": state.case_id, "version": 5, "hash": head}
    assert len(await store.load(state.case_id)) == 5
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 5


async def test_a_wrongly_remembered_head_never_writes_a_broken_link(store: EventStore) -> None:
    state, more = await _a_case(store, "link-2")
    store.heads.put(state.case_id, Base(5, FORGED, state))  # as if this process remembered another head
    result = await store.append(state.case_id, 5, more, fold(more, state))
    records = await store.load_records(state.case_id)
    assert result.last_version == 6 and not result.duplicate
    assert records[5].prev_hash == records[4].hash != FORGED
    assert await store.verify_chains() == []


async def test_verification_catches_a_prev_hash_that_does_not_link_even_with_a_recomputed_hash(
    store: EventStore,
) -> None:
    state, more = await _a_case(store, "link-3")
    await store.append(state.case_id, 5, more, fold(more, state))
    body = (await store.load_records(state.case_id))[2].body
    async with store.pool.acquire() as conn:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER USER")
        try:
            await conn.execute(
                "UPDATE events SET prev_hash = $1, hash = $2 WHERE case_id = $3 AND version = 3",
                FORGED,
                chain_hash(FORGED, body),
                state.case_id,
            )
        finally:
            await conn.execute("ALTER TABLE events ENABLE TRIGGER USER")
    problems = await store.verify_chains()
    # v3's own hash matches its (forged) prev_hash; only the link shows it, and v4 no longer links to v3.
    found = [(p.case_id, p.version, p.problem) for p in problems]
    assert [f for f in found if "prev_hash" in f[2]] == [
        (state.case_id, 3, "prev_hash does not link to the previous event"),
        (state.case_id, 4, "prev_hash does not link to the previous event"),
    ]
    # The seal chain covers each event's hash too (docs/audit.md), so v3's seal no longer matches either.
    others = [(v, problem) for _, v, problem in found if "prev_hash" not in problem]
    assert others and all(v == 3 and "sealed" in problem for v, problem in others), found
