"""Tampering, done as a database superuser with the append-only trigger switched off, and caught.

A small simulated store (with a checkpoint) is built once and copied per test as a template database.
Every scenario must make `verify` fail and name what was changed; export bundles are checked the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rectify.audit.verify import verify
from rectify.audit.verify_bundle import verify_files
from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.devstack import EmbeddedPostgres
from rectify.domain.canonical import chain_hash
from rectify.store import EventStore, scan
from tests.support.audit import a_case, as_superuser, build_base, bundle_files, copy_of, problems, reseal


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(DEFAULT_CITY_DIR)


@pytest.fixture(scope="module")
async def base(pg: EmbeddedPostgres, city: City, tmp_path_factory: pytest.TempPathFactory) -> str:
    return await build_base(pg, city, tmp_path_factory.mktemp("tamper"))


@pytest.fixture
async def store(pg: EmbeddedPostgres, base: str) -> AsyncIterator[EventStore]:
    async with copy_of(pg, base) as s:
        yield s


async def test_the_untouched_store_verifies(store: EventStore) -> None:
    report = await verify(store)
    assert report.ok, problems(report)
    assert {r.check for r in report.results} == {"chains", "positions", "read models", "recording times", "checkpoints"}
    assert all(r.checked > 0 for r in report.results)


async def test_one_changed_byte_of_a_payload_is_named_by_case_and_version(store: EventStore) -> None:
    case_id, _ = await a_case(store)
    await as_superuser(
        store,
        "UPDATE events SET body = jsonb_set(body, '{description}', to_jsonb((body->>'description') || '!')) "
        "WHERE case_id = $1 AND version = 1",
        case_id,
    )
    found = problems(await verify(store))
    assert f"chains: case {case_id} v1: hash does not match the stored body" in found


async def test_deleting_the_last_event_of_a_case_is_caught(store: EventStore) -> None:
    case_id, last = await a_case(store)
    await as_superuser(store, "DELETE FROM events WHERE case_id = $1 AND version = $2", case_id, last)
    found = problems(await verify(store))
    assert any(p.startswith("positions:") and "missing" in p for p in found)
    differs = f"read models: case {case_id}: the read model row differs from a rebuild from events in column "
    assert any(p.startswith(differs) and "version" in p.removeprefix(differs).split(", ") for p in found)
    assert any(p.startswith("checkpoints:") and "checkpoint 1" in p for p in found)


async def test_deleting_a_whole_case_with_its_read_model_row_is_caught(store: EventStore) -> None:
    case_id, _ = await a_case(store)
    await as_superuser(store, "DELETE FROM events WHERE case_id = $1", case_id)
    await as_superuser(store, "DELETE FROM cases WHERE case_id = $1", case_id)
    found = problems(await verify(store))
    assert any(p.startswith("positions:") and "missing (events deleted)" in p for p in found)
    assert any(p.startswith("checkpoints:") and "deleted, changed or reordered" in p for p in found)


async def test_swapping_two_events_of_a_case_is_caught(store: EventStore) -> None:
    case_id, _ = await a_case(store)
    await as_superuser(
        store,
        """UPDATE events e SET body = o.body, hash = o.hash, prev_hash = o.prev_hash, type = o.type
           FROM events o
           WHERE e.case_id = $1 AND o.case_id = $1 AND ((e.version = 2 AND o.version = 3)
                                                    OR (e.version = 3 AND o.version = 2))""",
        case_id,
    )
    found = problems(await verify(store))
    assert f"chains: case {case_id} v2: column version: the row says 2, the hashed body 3" in found
    assert f"chains: case {case_id} v2: prev_hash does not link to the previous event" in found


async def test_a_forged_event_with_a_recomputed_hash_is_caught(store: EventStore) -> None:
    case_id, last = await a_case(store)
    head = await store.pool.fetchrow("SELECT hash, body FROM events WHERE case_id = $1 AND version = $2", case_id, last)
    body = head["body"]
    forged = {k: body[k] for k in ("case_id", "occurred_at", "correlation_id", "schema_version")} | {
        "event_id": str(uuid.uuid4()),
        "version": last + 1,
        "type": "case_closed",
        "note": "已整改（伪造）",
        "causation_id": str(uuid.uuid4()),
        "actor": {"unit_id": "office_inspection", "role": "inspector"},
    }
    await as_superuser(
        store,
        """INSERT INTO events (position, case_id, version, event_id, type, body, actor_unit, actor_role, occurred_at,
                               recorded_at, causation_id, correlation_id, schema_version, prev_hash, hash, seal)
           SELECT max(position) + 1, $1, $2, $3, 'case_closed', $4::jsonb, 'office_inspection', 'inspector',
                  $9::text::timestamptz, clock_timestamp(), $5, $6, 1, $7, $8,
                  rectify_seal((SELECT seal FROM events WHERE case_id = $1 AND version = $2 - 1), max(position) + 1,
                               clock_timestamp(), $8)
           FROM events""",
        case_id,
        last + 1,
        forged["event_id"],
        forged,
        forged["causation_id"],
        forged["correlation_id"],
        head["hash"],
        chain_hash(head["hash"], forged),
        body["occurred_at"],
    )
    found = problems(await verify(store))
    assert f"chains: case {case_id} v{last + 1}: event id is not derived from its command" in found
    assert any(p.startswith(f"read models: case {case_id}: the read model row differs from a rebuild") for p in found)


async def test_an_edited_read_model_is_caught(store: EventStore) -> None:
    case_id, _ = await a_case(store)
    await as_superuser(store, "UPDATE cases SET lead_unit = 'st_somebody_else' WHERE case_id = $1", case_id)
    assert problems(await verify(store)) == [
        f"read models: case {case_id}: the read model row differs from a rebuild from events in column lead_unit"
    ]


async def test_cutting_off_the_tail_is_caught_by_the_checkpoint(store: EventStore) -> None:
    await as_superuser(store, "DELETE FROM events WHERE position > (SELECT max(position) - 3 FROM events)")
    found = problems(await verify(store))
    assert any("its tail is gone" in p for p in found)


# -- bundles ------------------------------------------------------------------------------------------
async def test_a_bundle_verifies_and_catches_edits_even_when_the_manifest_is_resealed(
    store: EventStore, city: City, tmp_path: Path
) -> None:
    files = await bundle_files(store, city, tmp_path)
    assert verify_files(files)[0] == []
    lines = files["events.jsonl"].decode().splitlines()
    edited = lines[0].replace('"description":"', '"description":"!', 1)
    assert edited != lines[0]

    changed = files | {"events.jsonl": "\n".join([edited, *lines[1:]]).encode() + b"\n"}
    assert any("events.jsonl: its SHA-256 differs" in p for p in verify_files(changed)[0])
    assert any("v1: hash does not match" in p for p in verify_files(reseal(changed))[0])

    shortened = reseal(files | {"events.jsonl": "\n".join(lines[:-1]).encode() + b"\n"})
    assert any("its head is" in p for p in verify_files(shortened)[0])


async def test_a_bundle_from_a_store_that_lost_events_fails_against_its_checkpoint(
    store: EventStore, city: City, tmp_path: Path
) -> None:
    other, _ = await a_case(store, min_events=3)
    victim = await store.pool.fetchval("SELECT case_id FROM events WHERE case_id <> $1 ORDER BY case_id LIMIT 1", other)
    await as_superuser(store, "DELETE FROM events WHERE case_id = $1", victim)
    problems_found = verify_files(await bundle_files(store, city, tmp_path))[0]
    assert any("the listed heads give root" in p for p in problems_found)


async def test_verify_over_several_processes_names_the_same_problems_as_one_pass(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = await a_case(store)
    await as_superuser(store, "DELETE FROM events WHERE case_id = $1 AND version = $2", first, last)
    other = await store.pool.fetchval("SELECT max(case_id) FROM cases")
    await as_superuser(store, "UPDATE cases SET status = 'closed' WHERE case_id = $1", other)
    await as_superuser(
        store,
        "UPDATE events SET body = jsonb_set(body, '{description}', '\"改\"') WHERE case_id = $1 AND version = 1",
        other,
    )
    monkeypatch.setattr(scan, "PARALLEL_FROM", 1)  # split even this small store
    one, several = await verify(store, workers=1), await verify(store, workers=3)
    assert problems(several) == problems(one)
    assert f"chains: case {other} v1: hash does not match the stored body" in problems(several)
    differs = "the read model row differs from a rebuild from events in column"
    named = {p.split(": ")[1][len("case ") :]: p.split(differs)[1].strip() for p in problems(several) if differs in p}
    assert "version" in named[first].split(", ")  # its last event is gone (and with it any later updated_at)
    assert {"status", "description"} <= set(named[other].split(", ")), named
    async with store.pool.acquire() as conn:
        assert len(await scan.ranges(conn, 3)) == 3
