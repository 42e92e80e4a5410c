"""A small store for the audit's tamper tests: written by the simulation's direct engine, with an accountability
proceeding and a checkpoint covering everything, built once per module and copied per test as a template."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console

from rectify.audit.bundle import cases_in_scope, export_bundle
from rectify.audit.verify import AuditFindings
from rectify.city import City
from rectify.devstack import EmbeddedPostgres
from rectify.domain.accountability import decide_proceeding, fold_proceeding, referral_for
from rectify.domain.canonical import GENESIS_HASH, canonical_json, seal_hash
from rectify.domain.state import fold
from rectify.sim.core import SimConfig
from rectify.sim.run import EngineName, SimOptions, simulate
from rectify.store import EventStore
from rectify.store.checkpoints import record_checkpoint


async def build_base(pg: EmbeddedPostgres, city: City, out: Path) -> str:
    """A template database holding a two-day simulation, one proceeding, and a checkpoint over all of it."""
    name = f"tamper_base_{uuid.uuid4().hex[:8]}"
    url = await pg.create_database(name)
    config = SimConfig(seed=21, days=2, reports_per_day=30, start=date(2026, 11, 16))
    options = SimOptions(
        config=config, engine=EngineName.DIRECT, out_dir=out, data_dir=out, database_url=url, charts=False
    )
    await simulate(city, options, Console(quiet=True))
    store = await EventStore.connect(url)
    try:
        await _open_proceeding(store, city)
        await record_checkpoint(store.pool)
    finally:
        await store.close()
    return name


async def _open_proceeding(store: EventStore, city: City) -> None:
    """A proceeding stream as the ladder's top rung opens one, so its events and read model are in the store."""
    if await store.pool.fetchval("SELECT count(*) FROM proceedings"):
        return
    case_id = await store.pool.fetchval("SELECT min(case_id) FROM cases WHERE lead_unit IS NOT NULL")
    events = await store.load(case_id)
    case = fold(events)
    at = events[-1].occurred_at + timedelta(minutes=1)
    command = referral_for(case, case.version, str(uuid.uuid5(uuid.NAMESPACE_URL, f"referral/{case_id}")))
    opened = decide_proceeding(None, command, at, city.policy)
    await store.append_many([(command.case_id, 0, opened, fold_proceeding(opened))])


@asynccontextmanager
async def copy_of(pg: EmbeddedPostgres, base: str) -> AsyncIterator[EventStore]:
    name = f"tamper_{uuid.uuid4().hex[:10]}"
    store = await EventStore.connect(await pg.create_database(name, template=base))
    try:
        yield store
    finally:
        await store.close()
        await pg.drop_database(name)


async def as_superuser(store: EventStore, sql: str, *args: object) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")  # the trigger does not fire
        await conn.execute(sql, *args)


async def a_case(store: EventStore, min_events: int = 6) -> tuple[str, int]:
    row = await store.pool.fetchrow(
        "SELECT case_id, max(version) AS v FROM events WHERE case_id NOT LIKE 'acc-%' GROUP BY case_id "
        "HAVING max(version) >= $1 ORDER BY case_id LIMIT 1",
        min_events,
    )
    return row["case_id"], row["v"]


def problems(report: AuditFindings) -> list[str]:
    return [f"{r.check}: {f.where()}: {f.problem}" for r in report.results for f in r.findings]


async def bundle_files(store: EventStore, city: City, tmp_path: Path, case_id: str | None = None) -> dict[str, bytes]:
    """The export bundle of one case (by default the first with six events), as {file name: bytes}."""
    case_id = case_id or (await a_case(store))[0]
    out = tmp_path / "case.zip"
    await export_bundle(store, city, await cases_in_scope(store, case_id=case_id), {"case": case_id}, out)
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
        return {n: z.read(n) for n in z.namelist()}


def reseal(files: dict[str, bytes]) -> dict[str, bytes]:
    """What a careful forger does: recompute the manifest's file hashes after editing."""
    manifest = json.loads(files["manifest.json"])
    manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n in manifest["files"]}
    return files | {"manifest.json": canonical_json(manifest)}


async def reseal_case(store: EventStore, case_id: str) -> None:
    """What a careful forger does after changing a time: recompute the case's seals (the algorithm is public)."""
    rows = await store.pool.fetch(
        "SELECT position, recorded_at, hash FROM events WHERE case_id = $1 ORDER BY version", case_id
    )
    prev = GENESIS_HASH
    for row in rows:
        prev = seal_hash(prev, row["position"], row["recorded_at"], row["hash"])
        await as_superuser(store, "UPDATE events SET seal = $2 WHERE position = $1", row["position"], prev)
