"""No column outside the proof: each column of `events` and of the read models, changed alone by a superuser
with the triggers off, makes `audit verify` fail naming the case and the column (docs/audit.md has the table).

The store is the tamper tests' small simulated store (tests/support/audit.py), copied per test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from rectify.audit.verify import verify
from rectify.audit.verify_bundle import verify_files
from rectify.city import DEFAULT_CITY_DIR, City, load_city
from rectify.devstack import EmbeddedPostgres
from rectify.domain.canonical import GENESIS_HASH, canonical_json, seal_hash
from rectify.store import EventStore
from rectify.store.checkpoints import checkpoints
from rectify.store.projections import CASE_COLUMNS, PROCEEDING_COLUMNS
from rectify.store.scan import FACT_FIELDS
from tests.support.audit import (
    a_case,
    as_superuser,
    build_base,
    bundle_files,
    copy_of,
    problems,
    reseal,
    reseal_case,
)

#: The event changed: the third of a case with at least six, so events before and after it show what broke.
VERSION = 3

#: For every column of `events`: how it is changed, and the finding that must name it ({c}: the case id).
EVENT_TAMPERS: dict[str, tuple[str, str]] = {
    "position": ("position = (SELECT max(position) + 100 FROM events)", "chains: case {c} v3: column position: "),
    "case_id": ("case_id = 'c-moved'", "chains: case c-moved v3: column case_id: the row says 'c-moved', the "),
    "version": ("version = 1000", "chains: case {c} v1000: column version: the row says 1000, the hashed body 3"),
    "event_id": ("event_id = 'e-forged'", "chains: case {c} v3: column event_id: the row says 'e-forged'"),
    "type": ("type = 'case_closed'", "chains: case {c} v3: column type: the row says 'case_closed'"),
    "body": ('body = body || \'{"note": "改"}\'', "chains: case {c} v3: hash does not match the stored body"),
    "actor_unit": ("actor_unit = 'st_x'", "chains: case {c} v3: column actor_unit: the row says 'st_x', the "),
    "actor_role": ("actor_role = 'auditor'", "chains: case {c} v3: column actor_role: the row says 'auditor'"),
    "occurred_at": ("occurred_at = occurred_at - interval '1 day'", "chains: case {c} v3: column occurred_at: "),
    "recorded_at": ("recorded_at = recorded_at + interval '1 ms'", "chains: case {c} v3: column recorded_at: the row "),
    "causation_id": ("causation_id = 'x'", "chains: case {c} v3: column causation_id: the row says 'x'"),
    "correlation_id": ("correlation_id = 'x'", "chains: case {c} v3: column correlation_id: the row says 'x'"),
    "schema_version": ("schema_version = 2", "chains: case {c} v3: column schema_version: the row says 2, the "),
    "prev_hash": ("prev_hash = repeat('f', 64)", "chains: case {c} v3: prev_hash does not link to the previous event"),
    "hash": ("hash = repeat('e', 64)", "chains: case {c} v3: hash does not match the stored body"),
    "seal": ("seal = repeat('d', 64)", "chains: case {c} v3: column seal: "),
}


@pytest.fixture(scope="module")
def city() -> City:
    return load_city(DEFAULT_CITY_DIR)


@pytest.fixture(scope="module")
async def base(pg: EmbeddedPostgres, city: City, tmp_path_factory: pytest.TempPathFactory) -> str:
    return await build_base(pg, city, tmp_path_factory.mktemp("columns"))


@pytest.fixture
async def store(pg: EmbeddedPostgres, base: str) -> AsyncIterator[EventStore]:
    async with copy_of(pg, base) as s:
        yield s


async def columns_of(store: EventStore, table: str) -> set[str]:
    rows = await store.pool.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = $1", table)
    return {r["column_name"] for r in rows}


async def test_every_column_of_events_has_a_tamper_test(store: EventStore) -> None:
    assert set(EVENT_TAMPERS) == await columns_of(store, "events")


@pytest.mark.parametrize("column", sorted(EVENT_TAMPERS))
async def test_a_changed_event_column_is_named_with_its_case(store: EventStore, column: str) -> None:
    case_id, _ = await a_case(store)
    change, finding = EVENT_TAMPERS[column]
    await as_superuser(store, f"UPDATE events SET {change} WHERE case_id = $1 AND version = $2", case_id, VERSION)
    found = problems(await verify(store))
    assert any(p.startswith(finding.format(c=case_id)) for p in found), found
    alone = problems(await verify(store, case_id if column != "case_id" else "c-moved"))
    assert any(p.startswith(finding.format(c=case_id)) for p in alone), alone


async def test_two_events_trading_positions_are_each_named(store: EventStore) -> None:
    case_id, _ = await a_case(store)
    other, _ = await a_case(store, min_events=VERSION)
    other = await store.pool.fetchval(
        "SELECT case_id FROM events WHERE case_id NOT IN ($1, $2) AND case_id NOT LIKE 'acc-%' AND version = $3 "
        "ORDER BY case_id LIMIT 1",
        case_id,
        other,
        VERSION,
    )
    a, b = [
        await store.pool.fetchval("SELECT position FROM events WHERE case_id = $1 AND version = $2", c, VERSION)
        for c in (case_id, other)
    ]
    for was, now in ((a, -1), (b, a), (-1, b)):  # one at a time: the primary key is checked row by row
        await as_superuser(store, "UPDATE events SET position = $2 WHERE position = $1", was, now)
    found = problems(await verify(store))
    assert f"chains: case {case_id} v3: column position: the row says {b}, but the event was sealed at {a}" in found
    assert f"chains: case {other} v3: column position: the row says {a}, but the event was sealed at {b}" in found


async def test_a_resealed_time_is_caught_by_the_checkpoint_and_the_neighbours(store: EventStore) -> None:
    case_id, _ = await a_case(store)
    await as_superuser(
        store,
        "UPDATE events SET recorded_at = recorded_at - interval '1 day' WHERE case_id = $1 AND version = $2",
        case_id,
        VERSION,
    )
    await reseal_case(store, case_id)
    found = problems(await verify(store))
    assert not [p for p in found if p.startswith("chains:")]  # the seals hold again …
    position = await store.pool.fetchval(
        "SELECT position FROM events WHERE case_id = $1 AND version = $2", case_id, VERSION
    )
    clock = f"recording times: case {case_id} v3 position {position}: column recorded_at: recorded at "
    assert any(p.startswith(clock) and "the record's clock never goes back" in p for p in found), found
    assert any(p.startswith("checkpoints: ") and "checkpoint 1: the store now gives root" in p for p in found)


async def test_a_time_after_the_checkpoint_that_covers_it_is_named(store: EventStore) -> None:
    case_id, last = await a_case(store)
    position = await store.pool.fetchval(
        "SELECT position FROM events WHERE case_id = $1 AND version = $2", case_id, last
    )
    covering = min((cp for cp in await checkpoints(store.pool) if cp.position >= position), key=lambda cp: cp.number)
    assert covering.sealed_time is not None
    later = covering.sealed_time + timedelta(hours=1)
    await as_superuser(store, "UPDATE events SET recorded_at = $2 WHERE position = $1", position, later)
    await reseal_case(store, case_id)
    found = problems(await verify(store))
    assert (
        f"recording times: case {case_id} v{last} position {position}: column recorded_at: recorded at "
        f"{later.isoformat()}, after checkpoint {covering.number}'s time {covering.sealed_time.isoformat()}, "
        f"though it covers position {covering.position}"
    ) in found, found


# -- read models ----------------------------------------------------------------------------------------
READ_MODELS = {
    "cases": ("case_id", CASE_COLUMNS),
    "proceedings": ("proceeding_id", PROCEEDING_COLUMNS),
    "unit_facts": (None, FACT_FIELDS),
}


async def test_every_column_of_the_read_models_has_a_tamper_test(store: EventStore) -> None:
    for table, (_, columns) in READ_MODELS.items():
        assert set(columns) == await columns_of(store, table), table


async def change(store: EventStore, table: str, column: str, where: str, *args: object) -> None:
    data_type = await store.pool.fetchval(
        "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = $2", table, column
    )
    if data_type == "text":
        value = f"coalesce({column}, '') || '改'"
    elif data_type in ("integer", "bigint", "double precision"):
        value = f"coalesce({column}, 0) + 1"
    elif data_type == "boolean":
        value = f"NOT coalesce({column}, false)"
    else:
        assert data_type == "timestamp with time zone", data_type
        value = f"coalesce({column}, '2026-01-01T00:00:00Z') + interval '1 minute'"
    await as_superuser(store, f"UPDATE {table} SET {column} = {value} WHERE {where}", *args)


@pytest.mark.parametrize(
    ("table", "column"), [(table, column) for table in ("cases", "proceedings") for column in READ_MODELS[table][1]]
)
async def test_a_changed_column_of_a_read_model_row_is_named(store: EventStore, table: str, column: str) -> None:
    key = READ_MODELS[table][0]
    stream = await store.pool.fetchval(f"SELECT min({key}) FROM {table}")
    assert stream is not None
    await change(store, table, column, f"{key} = $1", stream)
    found = problems(await verify(store))
    if column == key:  # the row now belongs to no stream, and the stream has no row
        assert f"read models: case {stream}: the cases read model has no row for this case" in found
        assert f"read models: case {stream}改: the cases read model has a row but no events" in found
    else:
        differs = f"read models: case {stream}: the read model row differs from a rebuild from events in column"
        assert f"{differs} {column}" in found, found


@pytest.mark.parametrize("column", FACT_FIELDS)
async def test_a_changed_column_of_an_indicator_fact_is_named(store: EventStore, column: str) -> None:
    case_id, _ = await a_case(store)
    fact = await store.pool.fetchrow(
        "SELECT event_id, kind, unit_id FROM unit_facts WHERE case_id = $1 ORDER BY at, kind, unit_id LIMIT 1", case_id
    )
    await change(
        store,
        "unit_facts",
        column,
        "event_id = $1 AND kind = $2 AND unit_id = $3",
        fact["event_id"],
        fact["kind"],
        fact["unit_id"],
    )
    found = problems(await verify(store))
    facts = f"read models: case {case_id}: its indicator facts (unit_facts) differ from a rebuild from events:"
    assert f"{facts} column {column}" in found, found


# -- bundles --------------------------------------------------------------------------------------------
#: Every field of an events.jsonl line: how it is changed, and the problem that must name it ({c}: the case).
LINE_TAMPERS: dict[str, tuple[object, str]] = {
    "position": (lambda e: e["position"] + 100, "case {c} v3: column position: "),
    "case_id": (lambda e: "c-moved", "case c-moved v3: column case_id: "),
    "version": (lambda e: 1000, "case {c} v1000: column version: "),
    "recorded_at": (lambda e: _later(e["recorded_at"]), "case {c} v3: column recorded_at: the row says "),
    "prev_hash": (lambda e: "f" * 64, "case {c} v3: prev_hash does not link to the event before"),
    "hash": (lambda e: "e" * 64, "case {c} v3: hash does not match the event's content"),
    "seal": (lambda e: "d" * 64, "case {c} v3: column seal: "),
    "body": (lambda e: e["body"] | {"note": "改"}, "case {c} v3: hash does not match the event's content"),
}


def _later(at: str) -> str:
    return (datetime.fromisoformat(at) + timedelta(seconds=1)).isoformat()


def with_line(files: dict[str, bytes], version: int, edit: object) -> dict[str, bytes]:
    lines = [json.loads(line) for line in files["events.jsonl"].decode().splitlines()]
    lines = [edit(e) if e["version"] == version else e for e in lines]  # type: ignore[operator]
    return reseal(files | {"events.jsonl": b"\n".join(canonical_json(e) for e in lines) + b"\n"})


async def test_every_field_of_a_bundle_line_has_a_tamper_test(store: EventStore, city: City, tmp_path: Path) -> None:
    files = await bundle_files(store, city, tmp_path)
    assert verify_files(files)[0] == []
    assert set(LINE_TAMPERS) == set(json.loads(files["events.jsonl"].splitlines()[0]))


@pytest.mark.parametrize("field", sorted(LINE_TAMPERS))
async def test_a_changed_field_of_a_bundle_line_is_named_with_its_case(
    store: EventStore, city: City, tmp_path: Path, field: str
) -> None:
    case_id, _ = await a_case(store)
    value, finding = LINE_TAMPERS[field]
    files = with_line(await bundle_files(store, city, tmp_path), VERSION, lambda e: e | {field: value(e)})
    found = verify_files(files)[0]
    assert any(p.startswith(finding.format(c=case_id)) for p in found), found


async def test_a_bundle_names_a_resealed_time_after_its_checkpoint(
    store: EventStore, city: City, tmp_path: Path
) -> None:
    case_id, _ = await a_case(store)
    files = await bundle_files(store, city, tmp_path)
    checkpoint = json.loads(files["checkpoint.json"])
    later = datetime.fromisoformat(checkpoint["created_at"]) + timedelta(hours=1)
    lines = [json.loads(line) for line in files["events.jsonl"].decode().splitlines()]
    prev = GENESIS_HASH
    for e in lines:  # a forger moves the last event past the checkpoint and recomputes every seal
        if e["version"] == len(lines):
            e["recorded_at"] = later.isoformat()
        e["seal"] = prev = seal_hash(prev, e["position"], datetime.fromisoformat(e["recorded_at"]), e["hash"])
    found = verify_files(reseal(files | {"events.jsonl": b"\n".join(canonical_json(e) for e in lines) + b"\n"}))[0]
    assert any(
        p.startswith(
            f"case {case_id} v{len(lines)}: column recorded_at: recorded at {later.isoformat()}, "
            f"after checkpoint {checkpoint['number']}'s time"
        )
        for p in found
    ), found
    assert any(p.startswith(f"case {case_id}: at checkpoint {checkpoint['number']} its head was") for p in found)


async def test_a_bundle_names_a_changed_checkpoint_time(store: EventStore, city: City, tmp_path: Path) -> None:
    files = await bundle_files(store, city, tmp_path)
    checkpoint = json.loads(files["checkpoint.json"])
    checkpoint["created_at"] = _later(checkpoint["created_at"])
    found = verify_files(reseal(files | {"checkpoint.json": canonical_json(checkpoint)}))[0]
    assert f"checkpoint {checkpoint['number']}: its hash does not match its fields" in found, found
