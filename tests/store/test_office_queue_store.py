"""The dispatch office's reads on PostgreSQL: the queue's reasons match the domain's, its keyset pages, filters,
counts, the map's points, what changed since a position, and the announcement of every committed append."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest

from rectify.domain import commands as c
from rectify.domain.decider import case_id_for, decide
from rectify.domain.office_queue import Need, attention, need_at
from rectify.domain.state import CaseState, fold
from rectify.domain.types import OPEN_STATUSES, Channel
from rectify.store import EventStore, migrate
from rectify.store import office_queue as q
from rectify.store.event_feed import EventFeed
from rectify.store.migrate import migration_files
from tests.support.given import POLICY, T0, claim, cmd, dispatcher, dispute, submit, tick, unit, verify
from tests.support.given import report as reported


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    s = await EventStore.connect(fresh_database_url)
    await migrate(s.pool)
    yield s
    await s.close()


async def play(
    store: EventStore, key: str, *commands: c.Command | tuple[timedelta, c.Command], at: datetime = T0, **report: object
) -> str:
    """Report case `key` and run `commands` on it ten minutes apart (or at `at` + a given delay), appending each."""
    case_id = case_id_for(key)
    state: CaseState | None = None
    for i, step in enumerate((reported(key, **report), *commands)):
        delay, command = step if isinstance(step, tuple) else (timedelta(minutes=10 * i), step)
        if command.case_id != case_id:
            command = command.model_copy(update={"case_id": case_id})
        events = decide(state, command, at + delay, POLICY)
        after = fold(events, state)
        await store.append(case_id, state.version if state else 0, events, after)
        state = after
    return case_id


def ext(hours: float = 1) -> c.Command:
    return cmd(c.RequestExtension, unit(), hours=hours, reason="需要审批")


def susp() -> c.Command:
    return cmd(c.RequestSuspension, unit(), reason="现场封闭")


async def city(store: EventStore) -> dict[str, str]:
    """Cases in every standing the queue knows, and some it leaves out."""
    return {
        "claim": await play(store, "claim"),
        "working": await play(store, "working", claim()),
        "dispute": await play(store, "dispute", dispute(), channel=Channel.HOTLINE),
        "extension": await play(store, "extension", claim(), ext()),
        "suspension": await play(store, "suspension", claim(), susp()),
        "verify": await play(store, "verify", claim(), submit(), channel=Channel.VOLUNTEER),
        "closed": await play(store, "closed", claim(), submit(), verify(True)),
        "late": await play(store, "late", claim(), at=T0 - timedelta(days=3)),
        "climbed": await play(store, "climbed", claim(), (timedelta(days=4), tick()), at=T0 - timedelta(days=6)),
        # reported at the same moment: the same clock, the same report time; pages must still split them right
        "twin-a": await play(store, "twin-a", at=T0 + timedelta(hours=1)),
        "twin-b": await play(store, "twin-b", at=T0 + timedelta(hours=1)),
    }


async def whole_queue(store: EventStore, now: datetime, where: q.QueueFilter, order: q.Order, limit: int) -> list:
    items, after = [], None
    while True:
        page = await q.queue_page(store.pool, where, now, order=order, after=after, limit=limit)
        items += page.items
        if page.next_key is None:
            return items
        after = page.next_key


async def test_the_queue_gives_each_case_the_domains_reason_at_the_moment_asked(store: EventStore) -> None:
    cases = await city(store)
    names = {v: k for k, v in cases.items()}
    for name, case_id in cases.items():  # the stored standing is the domain's, from the folded events
        state = fold(await store.load(case_id))
        row = await store.get_case(case_id)
        assert state is not None and row is not None
        need = attention(state)
        assert row.attention == (need.value if need else None), name
    for now in (T0, T0 + timedelta(hours=3), T0 + timedelta(days=2)):
        items = await whole_queue(store, now, q.QueueFilter(), q.Order.URGENT, 100)
        got = {names[i.row.case_id]: i.need for i in items}
        expected = {}
        for name, case_id in cases.items():
            row = await store.get_case(case_id)
            assert row is not None
            need = need_at(row.attention, row.status, row.due_at, now) if row.status in OPEN_STATUSES else None
            if need is not None:
                expected[name] = need
        assert got == expected, now
    at_noon = {names[i.row.case_id]: i.need for i in await whole_queue(store, T0, q.QueueFilter(), q.Order.URGENT, 9)}
    assert at_noon == {
        "claim": Need.CLAIM,
        "twin-a": Need.CLAIM,
        "twin-b": Need.CLAIM,
        "dispute": Need.DISPUTE,
        "extension": Need.REQUEST,
        "suspension": Need.REQUEST,
        "verify": Need.VERIFY,
        "late": Need.OVERDUE,
        "climbed": Need.OVERDUE,
    }


async def test_keyset_pages_walk_the_queue_once_in_either_order(store: EventStore) -> None:
    await city(store)
    now = T0 + timedelta(hours=1)
    for order in q.Order:
        whole = [i.row.case_id for i in await whole_queue(store, now, q.QueueFilter(), order, 100)]
        assert len(whole) == len(set(whole)) >= 6
        for limit in (1, 2, 4):
            assert [i.row.case_id for i in await whole_queue(store, now, q.QueueFilter(), order, limit)] == whole
    urgent = await whole_queue(store, now, q.QueueFilter(), q.Order.URGENT, 100)
    moments = [i.urgent_at for i in urgent]
    assert moments == sorted(moments, key=lambda m: (m is None, m))  # most urgent first, no clock last
    assert urgent[0].need is Need.OVERDUE  # the longest overdue of all
    newest = await whole_queue(store, now, q.QueueFilter(), q.Order.NEWEST, 100)
    opened = [i.row.opened_at for i in newest]
    assert opened == sorted(opened, reverse=True)


async def test_filters_and_counts(store: EventStore) -> None:
    cases = await city(store)
    now = T0 + timedelta(hours=1)

    async def ids(**where: object) -> set[str]:
        return {i.row.case_id for i in await whole_queue(store, now, q.QueueFilter(**where), q.Order.URGENT, 50)}

    assert await ids(channel="hotline") == {cases["dispute"]}
    assert await ids(need="request") == {cases["extension"], cases["suspension"]}
    assert await ids(status="submitted") == {cases["verify"]}
    assert await ids(escalation_level=0, need="overdue") == {cases["late"]}
    climbed = await store.get_case(cases["climbed"])
    assert climbed is not None and climbed.escalation_level >= 1
    assert await ids(escalation_level=climbed.escalation_level) == {cases["climbed"]}
    assert await ids(lead_unit="st_b") == set()
    assert await ids(scope_unit="st_a", channel="volunteer") == {cases["verify"]}
    counts = await q.queue_counts(store.pool, q.QueueFilter(), now)
    assert counts == {
        ("claim", 0): 3,
        ("dispute", 0): 1,
        ("request", 0): 2,
        ("verify", 0): 1,
        ("overdue", 0): 1,
        ("overdue", climbed.escalation_level): 1,
    }


async def test_the_map_has_every_open_case_and_a_marker_finds_its_case(store: EventStore) -> None:
    cases = await city(store)
    points = await q.open_points(store.pool)
    assert {p.case_id for p in points} == set(cases.values()) - {cases["closed"]}
    assert [p.lon for p in points] == sorted(p.lon for p in points)
    target = cases["verify"]
    assert await q.pick(store.pool, target[:8], 106.57, 29.6, None) == target
    assert await q.pick(store.pool, target[:8], 106.57, 29.6, "st_b") is None  # another unit's scope
    assert await q.pick(store.pool, "00000000", 106.57, 29.6, None) is None


async def test_what_changed_since_a_position(store: EventStore) -> None:
    first = await play(store, "first")
    head = await q.head_position(store.pool)
    second = await play(store, "second", claim())
    rows = await q.changed_since(store.pool, head, await q.head_position(store.pool))
    assert rows is not None and [r.case_id for r in rows] == [second]
    assert first not in {r.case_id for r in rows}
    assert await q.changed_since(store.pool, 0, q.MAX_CHANGED_EVENTS + 1) is None  # too many: reload


async def test_every_committed_append_is_announced_with_its_last_position(store: EventStore) -> None:
    heard: list[int] = []
    arrived = asyncio.Event()

    def announce(position: int) -> None:
        heard.append(position)
        arrived.set()

    feed = EventFeed(store.database_url or "", announce, retry_seconds=0.1)
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(feed.listening.wait(), 10)
        assert heard == [0]  # on connecting: the head, so nothing appended before is missed
        arrived.clear()
        await play(store, "announced", claim())
        await asyncio.wait_for(arrived.wait(), 10)
        await asyncio.sleep(0.2)
        assert heard[-1] == await q.head_position(store.pool)
        assert len(heard) == 1 + 2  # one announcement per append (the report, the claim)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_the_new_columns_are_what_a_rebuild_makes(store: EventStore) -> None:
    await city(store)
    await play(store, "again", claim(), ext(), cmd(c.DecideExtension, dispatcher(), granted=True, reason="同意"))
    assert (await store.diff_read_models()).clean


async def test_the_feed_listens_again_after_losing_its_connection(store: EventStore) -> None:
    heard: list[int] = []
    feed = EventFeed(store.database_url or "", heard.append, retry_seconds=0.1)
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(feed.listening.wait(), 10)
        feed.listening.clear()
        killed = await store.pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'rectify-live'"
        )
        assert killed == 1
        await play(store, "while-away")  # appended while nobody listened
        await asyncio.wait_for(feed.listening.wait(), 10)
        assert heard[-1] == await q.head_position(store.pool)  # on listening again: the head, nothing missed
        await play(store, "after", claim())
        await asyncio.sleep(0.3)
        assert heard[-1] == await q.head_position(store.pool)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_store_written_before_the_queue_columns_gets_them_from_its_events(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:  # the store as it was before migration 0017, applied as `migrate` applies it
        await conn.execute(
            "CREATE TABLE schema_migrations (name text PRIMARY KEY, sha256 text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for name, sql, digest in migration_files():
            if name < "0017":
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", name, digest)
    finally:
        await conn.close()
    store = await EventStore.connect(fresh_database_url)
    try:
        await city(store)  # the old append writes the rows without the new columns
        assert (await migrate(store.pool))[0] == "0017_office_queue.sql"
        needing = await store.pool.fetchval("SELECT count(*) FROM cases WHERE attention IS NOT NULL")
        assert needing == 7  # claim, dispute, two requests, verify and the twins
        assert (await store.diff_read_models()).clean
    finally:
        await store.close()
