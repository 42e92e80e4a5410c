"""The Temporal dev server down while a case's deadlines and rungs fall due, then restarted on its SQLite file:
each one fires once, in order, after the restart, and the record still verifies against Temporal's histories."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.client import RectifyClient, connect_temporal, register_search_attributes
from rectify.config import Settings
from rectify.devstack import EmbeddedPostgres, TemporalDevServer
from rectify.domain.types import Channel
from rectify.store import EventStore, migrate
from rectify.worker import build_worker
from tests.support.faults import assert_audit_verifies
from tests.support.scenario import REPORTER, point_in, round_the_clock

#: Seconds after the report that the server stays down: past the rectification deadline (6 s) and all four
#: rungs (6, 8, 10 and 12 s) of the round-the-clock policy.
DOWN_UNTIL = 14


async def test_rungs_that_fall_due_while_the_server_is_down_fire_once_in_order_after_it_restarts(
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
                idempotency_key="restart-1",
                category="street_vending",
                description="占道经营",
                location=point_in(city, "st_guanyinqiao"),
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )
            reported = time.monotonic()
            down_at = datetime.now(UTC)
            server.stop()
            await asyncio.sleep(DOWN_UNTIL - (time.monotonic() - reported))
            up_at = datetime.now(UTC)
            server.start()  # same SQLite file, same port
            give_up = time.monotonic() + 90
            while not any(e.type == "escalation_raised" and e.level == 4 for e in await store.load(ref.case_id)):
                assert time.monotonic() < give_up, "the timers did not fire after the restart"
                await asyncio.sleep(0.3)
            await asyncio.sleep(2)  # and nothing fires twice afterwards
            events = await store.load(ref.case_id)
        fired = [e for e in events if e.type in ("deadline_missed", "escalation_raised")]
        assert [(e.type, getattr(e, "stage", None), getattr(e, "level", None)) for e in fired] == [
            ("deadline_missed", "claim", None),
            ("deadline_missed", "rectify", None),
            ("escalation_raised", None, 1),
            ("escalation_raised", None, 2),
            ("escalation_raised", None, 3),
            ("escalation_raised", None, 4),
        ]  # each once, in order
        # The claim deadline (2 s) may pass before the server has stopped; everything from the rectification
        # deadline on fell due while it was down, and fired only after it came back.
        during = fired[1:]
        outage = f"Temporal was down {down_at:%T.%f}-{up_at:%T.%f}"
        not_due = [f"{e.type} due {e.due_at:%T.%f}" for e in during if not down_at < e.due_at < up_at]
        assert not not_due, f"{outage}, but these did not fall due meanwhile: {not_due}"
        early = [f"{e.type} at {e.occurred_at:%T.%f}" for e in during if e.occurred_at <= up_at]
        assert not early, f"{outage}, but these fired before it came back: {early}"
        assert [e.due_at for e in fired] == sorted(e.due_at for e in fired)
        assert [e.version for e in events] == list(range(1, len(events) + 1))
        await assert_audit_verifies(store, temporal, cases=1)
    finally:
        server.stop()
        await store.close()
