"""The store against Temporal's own record, on the dev server (it lists workflows by type)."""

from __future__ import annotations

import asyncio

from rectify.audit.histories import history_check
from rectify.audit.verify import verify
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel
from tests.scenario import INSPECTOR, REPORTER, photo, point_in, unit
from tests.test_audit_tamper import as_superuser, problems


async def test_the_store_matches_the_workflow_histories_until_someone_edits_it(pg: EmbeddedPostgres) -> None:
    async with TestStack(pg=pg, time_skipping=False) as stack:
        client = stack.client
        refs = []
        for n in range(2):
            ref = await client.report(
                idempotency_key=f"hist-{n}",
                category="street_vending",
                description="占道经营",
                location=point_in(stack.city, "st_guanyinqiao", index=n),  # two problems, not one twice
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )
            await client.claim(ref.case_id, unit(ref.lead_unit))
            refs.append(ref)
        await client.submit(refs[0].case_id, unit(refs[0].lead_unit), [photo()], "已整改")
        await client.verify(refs[0].case_id, INSPECTOR, True)
        await asyncio.sleep(1.5)  # visibility catches up with the two starts
        check = history_check(stack.env.client)

        clean = await verify(stack.store, histories=check)
        histories = next(r for r in clean.results if r.check == "temporal histories")
        assert clean.ok, problems(clean)
        assert histories.checked == 2 and histories.skipped is None

        edited = refs[0].case_id
        await as_superuser(
            stack.store,
            "UPDATE events SET body = jsonb_set(body, '{note}', to_jsonb($2::text)) "
            "WHERE case_id = $1 AND type = 'case_closed'",
            edited,
            "另有说法",
        )
        found = problems(await verify(stack.store, edited, histories=check))
        assert any(
            p.startswith(f"temporal histories: case {edited} v") and "differs from what the workflow" in p
            for p in found
        )
