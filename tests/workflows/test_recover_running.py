"""`rectify recover` on a cluster that runs everything: it starts nothing. A workflow Temporal ended while the
store holds its case open is reported, and started again only when asked (--restart-ended)."""

from __future__ import annotations

import pytest

from rectify.client.recover import Kind, Outcome
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel
from rectify.workflows.models import workflow_id_for
from tests.support.scenario import INSPECTOR, REPORTER, photo, point_in, unit


async def test_recover_starts_nothing_when_every_workflow_runs_and_restarts_an_ended_one_only_when_asked(
    pg: EmbeddedPostgres,
) -> None:
    async with TestStack(pg=pg) as stack:
        cases = []
        for i, street in enumerate(("st_guanyinqiao", "st_huaxinjie", "st_wulidian", "st_shimahe")):
            ref = await stack.client.report(
                idempotency_key=f"running-{i}",
                category="litter_junk",
                description="垃圾堆放",
                location=point_in(stack.city, street),
                channel=Channel.HOTLINE,
                actor=REPORTER,
            )
            cases.append(ref)
        first, second, closed, withdrawn = cases
        await stack.client.claim(second.case_id, unit(second.lead_unit))
        await stack.client.claim(closed.case_id, unit(closed.lead_unit))
        await stack.client.submit(closed.case_id, unit(closed.lead_unit), [photo()], "已整改")
        await stack.client.verify(closed.case_id, INSPECTOR, True)
        await stack.client.withdraw(withdrawn.case_id, REPORTER, "误报")

        recovery = await stack.client.recover()
        assert recovery.ok
        schedules = [(i.id, i.outcome, i.detail) for i in recovery.items if i.kind is Kind.SCHEDULE]
        assert {(o, d) for _, o, d in schedules} == {(Outcome.SETTLED, "this server keeps no Schedules")}
        assert {i.id: i.outcome for i in recovery.items if i.kind is not Kind.SCHEDULE} == {
            first.case_id: Outcome.RUNNING,
            second.case_id: Outcome.RUNNING,
            closed.case_id: Outcome.RUNNING,  # within its reopen window
        }

        await stack.env.client.get_workflow_handle(workflow_id_for(first.case_id)).terminate("by hand")
        ended = await stack.client.recover()
        assert ended.ok and [(i.id, i.outcome, i.detail) for i in ended.items if i.outcome is not Outcome.RUNNING] == [
            (first.case_id, Outcome.ENDED, "Temporal: terminated"),
            *schedules,  # the time-skipping server has no Schedules to create
        ]
        restarted = await stack.client.recover(restart_ended=True)
        assert [i.id for i in restarted.items if i.outcome is Outcome.STARTED] == [first.case_id]
        assert restarted.count(Kind.CASE, Outcome.RUNNING) == 2
        result = await stack.client.claim(first.case_id, unit(first.lead_unit))
        events = await stack.store.load(first.case_id)
        assert result.state.status == "claimed" and [e.version for e in events] == list(range(1, len(events) + 1))
        assert events[-1].type == "case_claimed" and result.state.version == len(events)  # on from the store's head
        again = await stack.client.recover(restart_ended=True)
        assert [i for i in again.items if i.outcome is not Outcome.RUNNING and i.kind is not Kind.SCHEDULE] == []


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_is_counted_per_kind(outcome: Outcome) -> None:
    from rectify.client.recover import Recovered, Recovery

    recovery = Recovery([Recovered(Kind.PROCEEDING, "acc-x-9", outcome, "why")])
    assert recovery.counts()["proceeding"][outcome.value] == 1
    assert sum(sum(c.values()) for c in recovery.counts().values()) == 1
    assert recovery.ok is (outcome is not Outcome.FAILED)
