"""The Temporal dev server restarted on its SQLite file: running cases carry on and their timers still fire."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from pathlib import Path

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.client import RectifyClient, connect_temporal, register_search_attributes
from rectify.config import Settings
from rectify.devstack import EmbeddedPostgres, TemporalDevServer
from rectify.domain.types import Channel
from rectify.store import EventStore, migrate
from rectify.worker import build_worker
from tests.scenario import REPORTER, point_in
from tests.test_outage import round_the_clock


async def test_cases_survive_a_server_restart_and_fire_their_rungs_after_it(
    pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    store = await EventStore.connect(await pg.create_database(f"restart_{uuid.uuid4().hex[:8]}"))
    await migrate(store.pool)
    server = TemporalDevServer(tmp_path / "temporal.db").start()
    try:
        settings = Settings(temporal_address=server.address)
        temporal = await connect_temporal(settings, patience=30)
        await register_search_attributes(temporal)
        city = load_city(DEFAULT_CITY_DIR)
        city = replace(city, policy=round_the_clock(city.policy))  # rungs seconds apart, all day long
        client = RectifyClient(temporal, store, city, "restart-queue")
        async with build_worker(temporal, store, "restart-queue"):
            ref = await client.report(
                idempotency_key="restart-1", category="street_vending", description="占道经营",
                location=point_in(city, "st_guanyinqiao"), channel=Channel.HOTLINE, actor=REPORTER,
            )  # fmt: skip
            server.stop()  # every deadline and rung falls due while the server is down
            await asyncio.sleep(3)
            server.start()  # same SQLite file, same port
            give_up = time.monotonic() + 90
            while not any(e.type == "escalation_raised" and e.level == 4 for e in await store.load(ref.case_id)):
                assert time.monotonic() < give_up, "the timers did not fire after the restart"
                await asyncio.sleep(0.3)
            events = await store.load(ref.case_id)
        rungs = [e.level for e in events if e.type == "escalation_raised"]
        assert rungs == [1, 2, 3, 4]  # each once, in order
        assert [e.version for e in events] == list(range(1, len(events) + 1))
    finally:
        server.stop()
        await store.close()
