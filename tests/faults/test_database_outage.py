"""PostgreSQL stopped for 30 s while commands arrive: they land after it returns, once, and the record verifies."""

from __future__ import annotations

import asyncio
import time

from rectify.audit.verify import verify
from rectify.devstack import TestStack
from rectify.domain.types import Actor, Channel, Role
from tests.scenario import REPORTER, point_in

OUTAGE_SECONDS = 30


async def test_commands_sent_while_postgres_is_down_land_once_after_it_returns() -> None:
    async with TestStack(time_skipping=False) as stack:  # its own PostgreSQL: this test stops it
        refs = []
        for n in range(3):
            refs.append(await stack.client.report(
                idempotency_key=f"outage-{n}", category="street_vending", description="占道经营",
                location=point_in(stack.city, "st_guanyinqiao", index=n * 9), channel=Channel.HOTLINE,
                actor=REPORTER,
            ))  # fmt: skip
        stack.pg.stop()
        down_at = time.monotonic()
        claims = [
            asyncio.create_task(stack.client.claim(r.case_id, Actor(unit_id=r.lead_unit, role=Role.UNIT))) for r in refs
        ]
        await asyncio.sleep(OUTAGE_SECONDS)
        assert not any(c.done() for c in claims), "a command finished while the database was down"
        stack.pg.start()  # same folder, same port
        results = await asyncio.wait_for(asyncio.gather(*claims), timeout=120)
        assert time.monotonic() - down_at >= OUTAGE_SECONDS
        assert [r.state.status for r in results] == ["claimed"] * 3
        for ref in refs:
            types = [e.type for e in await stack.store.load(ref.case_id)]
            assert types.count("case_claimed") == 1
        report = await verify(stack.store)
        assert report.ok, [f.problem for r in report.results for f in r.findings]
