"""Point and round streams in the event store: the same append, chains and seals as cases, their read models, the
battle map's data, and the audit: `audit verify` covers point streams and catches a tampered point record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.audit.verify import verify
from rectify.domain.decider import decide
from rectify.domain.points import Readiness, decide_point, fold_point
from rectify.domain.rounds import decide_round, fold_round
from rectify.domain.state import fold
from rectify.store import ConcurrencyError, EventStore, migrate
from rectify.store import inspections as q
from rectify.store.projections import point_row, round_row
from tests.support.given import T0, report
from tests.support.inspection import ALLEY, IPOLICY, MARKET, plan, record, walked


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    s = await EventStore.connect(fresh_database_url)
    await migrate(s.pool)
    yield s
    await s.close()


async def walk_market(store: EventStore, *failing: str) -> None:
    """A round of two points planned, and the market recorded on it: round and point appended in one batch."""
    planned = decide_round(None, plan(), T0, IPOLICY)
    await store.append("rd-r-1", 0, planned, fold_round(planned))
    round_state = fold_round(planned)
    at = T0 + timedelta(hours=1)
    on_round = decide_round(round_state, walked("p-market", *failing), at, IPOLICY)
    on_point = decide_point(None, record(MARKET, *failing), at, IPOLICY)
    await store.append_many(
        [
            ("rd-r-1", 1, on_round, fold_round(on_round, round_state)),
            ("pt-p-market", 0, on_point, fold_point(on_point)),
        ]
    )


async def test_a_record_lands_in_the_points_own_chained_stream_with_its_read_models(store: EventStore) -> None:
    await walk_market(store, "bins_ok")
    records = await store.load_records("pt-p-market")
    assert [r.type for r in records] == ["point_inspected"] and records[0].seal and records[0].prev_hash == "0" * 64
    assert await q.point_records(store.pool, "p-market") == await store.load("pt-p-market")
    point = fold_point(await q.point_records(store.pool, "p-market"))
    rows = await q.point_rows(store.pool)
    assert point is not None and rows == {"p-market": point_row(point)}
    assert rows["p-market"].failed_items == "bins_ok" and rows["p-market"].open_failures == 1
    state = await q.round_state(store.pool, "r-1")
    assert state is not None and state.recorded == {"p-market": ("bins_ok",)}
    assert await q.round_rows(store.pool, unit="office_command") == [round_row(state)]
    assert await q.round_rows(store.pool, unit="st_a") == []
    assert await q.rounds_through(store.pool, "p-market") == ["r-1"]


async def test_a_point_stream_refuses_a_stale_writer(store: EventStore) -> None:
    await walk_market(store)
    again = decide_point(None, record(MARKET), T0 + timedelta(hours=2), IPOLICY)  # decided on no record at all
    with pytest.raises(ConcurrencyError):
        await store.append("pt-p-market", 0, again, fold_point(again))


async def test_the_battle_map_colours_points_from_records_and_cases(store: EventStore) -> None:
    await walk_market(store, "bins_ok")
    opened = decide(None, report("fail-1", point_id="p-market"), T0 + timedelta(hours=1), IPOLICY)
    await store.append(opened[0].case_id, 0, opened, fold(opened))
    assert (await store.get_case(opened[0].case_id)).point_id == "p-market"  # type: ignore[union-attr]
    at = T0 + timedelta(hours=2)
    colours = {b.point.point_id: b for b in await q.battle_map(store.pool, [MARKET, ALLEY], IPOLICY, at)}
    assert colours["p-market"].readiness.level is Readiness.NOT_READY
    assert colours["p-market"].failed_items == ("bins_ok",) and colours["p-market"].open_cases == (opened[0].case_id,)
    assert colours["p-alley"].readiness.level is Readiness.STALE  # never checked
    later = T0 + timedelta(days=1)  # the case's two-hour limit long past
    assert (await q.battle_map(store.pool, [MARKET], IPOLICY, later))[0].overdue_cases == (opened[0].case_id,)
    # A point's page asks for its point only: the same row as on the whole map, and no other.
    for point_id in ("p-market", "p-alley"):
        assert await q.battle_map(store.pool, [MARKET, ALLEY], IPOLICY, at, [point_id]) == [colours[point_id]]


async def test_audit_verify_covers_point_streams_and_catches_a_tampered_record(store: EventStore) -> None:
    await walk_market(store, "bins_ok")
    clean = await verify(store)
    assert clean.ok, [f.problem for r in clean.results for f in r.findings]
    chains = next(r for r in clean.results if r.check == "chains")
    assert chains.checked == 3  # the round's two events and the point's one
    assert (await store.rebuild_read_models()).clean
    conn = await store.pool.acquire()
    try:
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        # the failed item rewritten as passed: the kind of change someone would want to make before an evaluation
        await conn.execute(
            """UPDATE events SET body = jsonb_set(body, '{results,1,passed}', 'true')
               WHERE case_id = 'pt-p-market' AND version = 1"""
        )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    finally:
        await store.pool.release(conn)
    found = [f"{r.check}: {f.where()}: {f.problem}" for r in (await verify(store)).results for f in r.findings]
    assert "chains: case pt-p-market v1: hash does not match the stored body" in found
    assert any(p.startswith("read models: case pt-p-market:") for p in found)  # its row no longer matches a rebuild


async def test_a_rebuild_restores_the_points_and_rounds_read_models(store: EventStore) -> None:
    await walk_market(store, "bins_ok")
    before = (await q.point_rows(store.pool), await q.round_rows(store.pool))
    await store.pool.execute("UPDATE points SET open_failures = 0, failed_items = ''")
    await store.pool.execute("DELETE FROM rounds")
    diff = await store.rebuild_read_models()
    assert diff.different == ["pt-p-market"] and diff.missing == ["rd-r-1"]
    assert (await q.point_rows(store.pool), await q.round_rows(store.pool)) == before
