"""The incremental verify (`verify(store, since_checkpoint=True)`): it proves the store up to the latest verified
checkpoint unchanged by that checkpoint's root, checks only the events after it, and chains a new verified
checkpoint. Its own tamper tests: a change before the checkpoint is caught by the root (or the count of its
positions), a change after it by the scan.

The store: a small simulation, verified in full (the first verified checkpoint), then a "day" after it: new cases
and a claim on a case that was open at the checkpoint (a stream the scan must start part-way).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from rectify.audit.verify import verify, verify_and_record
from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.devstack import EmbeddedPostgres
from rectify.domain import commands as c
from rectify.domain.canonical import GENESIS_HASH, chain_hash, seal_hash
from rectify.domain.decider import decide
from rectify.domain.state import fold
from rectify.domain.types import Actor, Role
from rectify.store import EventStore
from rectify.store.checkpoints import checkpoints, latest_checkpoint
from tests.support.audit import as_superuser, build_base, copy_of, problems, reseal_case
from tests.support.given import reported

NEW_CASES = 3


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(DEFAULT_CITY_DIR)


async def _claim_an_open_case(store: EventStore, city: City) -> str:
    """A claim on a case dispatched before the checkpoint: its stream continues after it."""
    row = await store.pool.fetchrow(
        "SELECT case_id, lead_unit FROM cases WHERE status = 'dispatched' ORDER BY case_id LIMIT 1"
    )
    events = await store.load(row["case_id"])
    state = fold(events)
    claim = c.ClaimCase(
        command_id=str(uuid.uuid4()), case_id=state.case_id, actor=Actor(unit_id=row["lead_unit"], role=Role.UNIT)
    )
    claimed = decide(state, claim, events[-1].occurred_at + timedelta(minutes=3), city.policy)
    await store.append(state.case_id, state.version, claimed, fold([*events, *claimed]))
    return state.case_id


@pytest.fixture(scope="module")
async def base(pg: EmbeddedPostgres, city: City, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The simulation's store, verified in full (checkpoint 2, "full"), then a day after that checkpoint."""
    name = await build_base(pg, city, tmp_path_factory.mktemp("incremental"))
    store = await EventStore.connect(pg.database_url(name))
    try:
        report, recorded = await verify_and_record(store)
        assert report.ok and recorded is not None and recorded.verified == "full", problems(report)
        for i in range(NEW_CASES):
            events = reported(f"after-checkpoint-{i}")
            await store.append(events[0].case_id, 0, events, fold(events))
        await _claim_an_open_case(store, city)
    finally:
        await store.close()
    return name


@pytest.fixture
async def store(pg: EmbeddedPostgres, base: str) -> AsyncIterator[EventStore]:
    async with copy_of(pg, base) as s:
        yield s


async def _after(store: EventStore) -> int:
    return (await latest_checkpoint(store.pool)).position  # type: ignore[union-attr]


async def test_it_checks_only_the_events_after_the_checkpoint_and_chains_a_new_one(store: EventStore) -> None:
    since = await latest_checkpoint(store.pool)
    added = await store.pool.fetchval("SELECT count(*) FROM events WHERE position > $1", since.position)  # type: ignore[union-attr]
    report, recorded = await verify_and_record(store, since_checkpoint=True)
    assert report.ok, problems(report)
    assert (report.scope, report.since) == ("incremental", since.number)  # type: ignore[union-attr]
    chains = next(r for r in report.results if r.check == "chains")
    assert chains.checked == added == NEW_CASES * 5 + 1
    assert recorded is not None and recorded.verified == "incremental" and recorded.number == since.number + 1  # type: ignore[union-attr]
    assert recorded.prev_hash == since.hash and recorded.hash == recorded.expected_hash()  # type: ignore[union-attr]
    # The new checkpoint is right: the full verify recomputes every root from the store, and a next incremental
    # verify starts from it with nothing left to check.
    full = await verify(store)
    assert full.ok, problems(full)
    again = await verify(store, since_checkpoint=True)
    assert again.ok and again.since == recorded.number
    assert next(r for r in again.results if r.check == "chains").checked == 0


async def test_a_store_without_a_verified_checkpoint_is_verified_in_full(
    pg: EmbeddedPostgres, city: City, tmp_path: Path
) -> None:
    name = await build_base(pg, city, tmp_path)
    async with copy_of(pg, name) as store:
        assert {cp.verified for cp in await checkpoints(store.pool)} == {None}  # taken without a verify
        report = await verify(store, since_checkpoint=True)
        assert report.ok and report.scope == "full" and report.since is None
    await pg.drop_database(name)


# -- before the checkpoint: the root and the count ----------------------------------------------------------
async def test_a_chain_rewritten_before_the_checkpoint_is_caught_by_the_root(store: EventStore) -> None:
    """A careful forger: a case's last event before the checkpoint moved by a second, its column, hash and seal
    made to match, so the case's chain still holds."""
    row = await store.pool.fetchrow(
        """SELECT e.* FROM events e WHERE e.position <= $1 AND e.case_id NOT LIKE 'acc-%' AND NOT EXISTS (
               SELECT 1 FROM events n WHERE n.case_id = e.case_id AND n.version = e.version + 1)
           ORDER BY e.case_id LIMIT 1""",
        await _after(store),
    )
    moved = row["occurred_at"] + timedelta(seconds=1)
    body = row["body"] | {"occurred_at": moved.isoformat().replace("+00:00", "Z")}
    before = await store.pool.fetchval(
        "SELECT seal FROM events WHERE case_id = $1 AND version = $2", row["case_id"], row["version"] - 1
    )
    digest = chain_hash(row["prev_hash"], body)
    seal = seal_hash(before or GENESIS_HASH, row["position"], row["recorded_at"], digest)
    await as_superuser(
        store,
        "UPDATE events SET body = $2::jsonb, occurred_at = $3, hash = $4, seal = $5 WHERE position = $1",
        row["position"],
        body,
        moved,
        digest,
        seal,
    )
    assert not any(p.startswith("chains:") for p in problems(await verify(store)))  # the rewritten chain holds
    found = problems(await verify(store, since_checkpoint=True))
    assert any(p.startswith("checkpoints:") and "deleted, changed or reordered" in p for p in found), found


async def test_a_case_deleted_before_the_checkpoint_is_caught_by_the_root(store: EventStore) -> None:
    position = await _after(store)
    case_id = await store.pool.fetchval(
        "SELECT min(case_id) FROM events WHERE position <= $1 AND case_id NOT LIKE 'acc-%' AND case_id NOT IN "
        "(SELECT case_id FROM events WHERE position > $1)",
        position,
    )
    await as_superuser(store, "DELETE FROM events WHERE case_id = $1", case_id)
    await as_superuser(store, "DELETE FROM cases WHERE case_id = $1", case_id)
    found = problems(await verify(store, since_checkpoint=True))
    assert any(p.startswith("checkpoints:") and "deleted, changed or reordered" in p for p in found), found
    assert any(p.startswith("positions:") and "were deleted or added" in p for p in found), found


async def test_an_event_deleted_inside_a_chain_before_the_checkpoint_is_caught_by_the_count(store: EventStore) -> None:
    """Not a head, so the root alone would not see it: the positions 1…P no longer number P."""
    position = await _after(store)
    await as_superuser(
        store, "DELETE FROM events WHERE position = (SELECT min(position) FROM events WHERE version = 2)"
    )
    found = problems(await verify(store, since_checkpoint=True))
    assert any(p.startswith("positions:") and f"covers positions 1…{position}" in p for p in found), found


# -- after the checkpoint: the scan --------------------------------------------------------------------------
async def test_a_changed_event_after_the_checkpoint_is_named_by_the_scan(store: EventStore) -> None:
    position = await _after(store)
    row = await store.pool.fetchrow(
        "SELECT case_id, version FROM events WHERE position > $1 ORDER BY position LIMIT 1", position
    )
    await as_superuser(
        store,
        "UPDATE events SET body = jsonb_set(body, '{description}', to_jsonb((body->>'description') || '!')) "
        "WHERE case_id = $1 AND version = $2",
        row["case_id"],
        row["version"],
    )
    found = problems(await verify(store, since_checkpoint=True))
    assert f"chains: case {row['case_id']} v{row['version']}: hash does not match the stored body" in found


async def test_an_event_after_the_checkpoint_that_does_not_link_to_its_head_there_is_named(store: EventStore) -> None:
    """The claim on the old case starts its stream part-way: its prev_hash must be the head's at the checkpoint."""
    position = await _after(store)
    row = await store.pool.fetchrow(
        "SELECT case_id, version FROM events WHERE position > $1 AND version > 1 ORDER BY position LIMIT 1", position
    )
    await as_superuser(
        store,
        "UPDATE events SET prev_hash = repeat('0', 64) WHERE case_id = $1 AND version = $2",
        row["case_id"],
        row["version"],
    )
    found = problems(await verify(store, since_checkpoint=True))
    assert f"chains: case {row['case_id']} v{row['version']}: prev_hash does not link to the previous event" in found


async def test_a_tail_cut_after_the_checkpoint_is_caught_by_the_next_verified_checkpoint(store: EventStore) -> None:
    """Events after one verified checkpoint and covered by the next cannot be cut off unseen."""
    _, recorded = await verify_and_record(store, since_checkpoint=True)
    assert recorded is not None
    await as_superuser(store, "DELETE FROM events WHERE position = $1", recorded.position)
    found = problems(await verify(store, since_checkpoint=True))
    assert any(p.startswith("positions:") and f"covers positions 1…{recorded.position}" in p for p in found), found


# -- what it leaves to the full verify, and what it cannot be talked out of -----------------------------------
async def test_a_body_changed_before_the_checkpoint_with_its_hash_kept_is_left_to_the_full_verify(
    store: EventStore,
) -> None:
    """The chain breaks but no head changes: the incremental verify does not read that event; the full one does."""
    position = await _after(store)
    row = await store.pool.fetchrow(
        "SELECT case_id, version FROM events WHERE position <= $1 AND version = 1 ORDER BY position LIMIT 1", position
    )
    await as_superuser(
        store,
        "UPDATE events SET body = jsonb_set(body, '{description}', to_jsonb((body->>'description') || '!')) "
        "WHERE case_id = $1 AND version = 1",
        row["case_id"],
    )
    assert (await verify(store, since_checkpoint=True)).ok
    assert f"chains: case {row['case_id']} v1: hash does not match the stored body" in problems(await verify(store))


async def test_a_checkpoint_marked_verified_afterwards_breaks_the_checkpoints_chain(store: EventStore) -> None:
    first = (await checkpoints(store.pool))[0]
    assert first.verified is None
    await as_superuser(store, "UPDATE checkpoints SET verified = 'full', format = 3 WHERE number = $1", first.number)
    found = problems(await verify(store, since_checkpoint=True))
    assert (
        f"checkpoints: position {first.position}: checkpoint {first.number}: its hash does not match its fields"
        in found
    )


# -- each row after the checkpoint against itself: the checks that need no parse of the body ------------------
ROW_TAMPERS: dict[str, tuple[str, str]] = {
    "body without its hash": (
        "body = jsonb_set(body, '{occurred_at}', to_jsonb('2020-01-01T00:00:00Z'::text))",
        "chains: case {c} v3: hash does not match the stored body",
    ),
    "hash without its body": ("hash = repeat('e', 64)", "chains: case {c} v3: hash does not match the stored body"),
    "seal": ("seal = repeat('d', 64)", "chains: case {c} v3: column seal: "),
}


async def _new_case_event(store: EventStore, index: int, version: int = 3) -> tuple[str, int]:
    """A case opened after the checkpoint (`reported` makes five events each), and the position of its event."""
    row = await store.pool.fetchrow(
        "SELECT case_id, position FROM events WHERE position > $1 AND version = $2 ORDER BY case_id OFFSET $3 LIMIT 1",
        await _after(store),
        version,
        index,
    )
    return row["case_id"], row["position"]


@pytest.mark.parametrize("tamper", sorted(ROW_TAMPERS))
async def test_a_row_changed_after_the_checkpoint_is_named_without_parsing_bodies(
    store: EventStore, tamper: str
) -> None:
    case_id, position = await _new_case_event(store, 0)
    change, finding = ROW_TAMPERS[tamper]
    await as_superuser(store, f"UPDATE events SET {change} WHERE position = $1", position)
    found = problems(await verify(store, since_checkpoint=True))
    assert any(p.startswith(finding.format(c=case_id)) for p in found), found


async def test_two_events_after_the_checkpoint_trading_positions_are_each_named(store: EventStore) -> None:
    (one, a), (other, b) = await _new_case_event(store, 0), await _new_case_event(store, 1)
    for was, now in ((a, -1), (b, a), (-1, b)):  # one at a time: the primary key is checked row by row
        await as_superuser(store, "UPDATE events SET position = $2 WHERE position = $1", was, now)
    found = problems(await verify(store, since_checkpoint=True))
    assert f"chains: case {one} v3: column position: the row says {b}, but the event was sealed at {a}" in found
    assert f"chains: case {other} v3: column position: the row says {a}, but the event was sealed at {b}" in found


async def test_a_time_moved_back_after_the_checkpoint_and_resealed_is_named_by_the_clock(store: EventStore) -> None:
    """A careful forger moves an event's recorded_at back and recomputes its case's seals: the chains hold, but
    the record's clock goes back in position order (the pass over the scan's rows, sorted by position)."""
    case_id, position = await _new_case_event(store, 0)
    await as_superuser(
        store, "UPDATE events SET recorded_at = recorded_at - interval '1 hour' WHERE position = $1", position
    )
    await reseal_case(store, case_id)
    found = problems(await verify(store, since_checkpoint=True))
    assert not any(p.startswith("chains:") for p in found), found
    assert any(
        p.startswith(f"recording times: case {case_id} v3 position {position}: column recorded_at") for p in found
    ), found


async def test_a_pool_of_one_connection_reads_the_checkpoint_s_heads_in_turn(store: EventStore) -> None:
    """The heads at P are read beside the scan on a second connection in the same snapshot; with one connection
    they are read before it, not waited for forever."""
    assert store.database_url is not None
    single = await EventStore.connect(store.database_url, min_size=1, max_size=1)
    try:
        report = await asyncio.wait_for(verify(single, since_checkpoint=True), timeout=60)
    finally:
        await single.close()
    assert report.ok and report.scope == "incremental", problems(report)
