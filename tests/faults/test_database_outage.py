"""PostgreSQL stopped for 30 s while commands arrive: they land after it returns, once, and the record verifies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from rectify.devstack import TestStack
from rectify.domain.types import Actor, Channel, Role
from tests.support.faults import assert_audit_verifies
from tests.support.scenario import REPORTER, point_in

OUTAGE_SECONDS = 30


async def test_commands_sent_while_postgres_is_down_land_once_after_it_returns() -> None:
    async with TestStack(time_skipping=False) as stack:  # its own PostgreSQL: this test stops it
        refs = []
        for n in range(3):
            refs.append(
                await stack.client.report(
                    idempotency_key=f"outage-{n}",
                    category="street_vending",
                    description="占道经营",
                    location=point_in(stack.city, "st_guanyinqiao", index=n * 9),
                    channel=Channel.HOTLINE,
                    actor=REPORTER,
                )
            )
        stack.pg.stop()
        claims = [
            asyncio.create_task(stack.client.claim(r.case_id, Actor(unit_id=r.lead_unit, role=Role.UNIT))) for r in refs
        ]
        await asyncio.sleep(OUTAGE_SECONDS)
        assert not any(c.done() for c in claims), "a command finished while the database was down"
        back_at = datetime.now(UTC)
        stack.pg.start()  # same folder, same port
        results = await asyncio.wait_for(asyncio.gather(*claims), timeout=120)
        assert [r.state.status for r in results] == ["claimed"] * 3
        for ref in refs:
            records = await stack.store.load_records(ref.case_id)
            claimed = [r for r in records if r.type == "case_claimed"]
            assert len(claimed) == 1
            assert claimed[0].recorded_at > back_at, "the claim was written before the database came back"
        await assert_audit_verifies(stack.store, stack.env.client, cases=len(refs))
