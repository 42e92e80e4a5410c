"""Poison input wedges nothing: refused with its rule, in bounded time, and the case takes the next command.

Before this, a NUL in a reason made the append fail at PostgreSQL and retry inside the workflow task for ten
minutes, holding the case's lock: the command never answered and the next one hung behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from rectify.activities.appends import AppendActivities
from rectify.activities.interface import AppendEvents
from rectify.audit.verify import verify
from rectify.client import CommandRejected
from rectify.client.errors import from_failure
from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.state import fold
from rectify.domain.types import Channel
from rectify.store.failures import list_failures
from rectify.workflows.models import workflow_id_for
from tests.scenario import REPORTER, point_in, unit

#: Each refusal must come back well inside this; the old behaviour hung for the append's whole ten minutes.
BOUND = 30


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg, time_skipping=False) as s:
        yield s


async def report(stack: TestStack, key: str, description: str = "占道经营", territory: str = "st_guanyinqiao"):
    ref = stack.client.report(
        idempotency_key=key,
        category="street_vending",
        description=description,
        location=point_in(stack.city, territory),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    return await asyncio.wait_for(ref, BOUND)


async def test_a_nul_in_a_reason_or_a_description_is_refused_by_rule_and_the_case_takes_the_next_command(
    stack: TestStack,
) -> None:
    ref = await report(stack, "nul-1")
    lead = unit(ref.lead_unit)
    with pytest.raises(CommandRejected) as refused:
        await asyncio.wait_for(stack.client.request_extension(ref.case_id, lead, 1, "需要\x00审批"), BOUND)
    assert refused.value.rule == "invalid_text" and "reason" in str(refused.value)
    result = await asyncio.wait_for(stack.client.claim(ref.case_id, lead), BOUND)
    assert result.state.status == "claimed"
    with pytest.raises(CommandRejected) as refused:
        await report(stack, "nul-2", description="bad\x00text", territory="st_huaxinjie")
    assert refused.value.rule == "invalid_text" and "description" in str(refused.value)
    assert [row.case_id for row in await stack.client.list()] == [ref.case_id]
    assert (await verify(stack.store)).ok


async def _refuse_marked_events(stack: TestStack, marker: str) -> None:
    """PostgreSQL itself refuses these events as data (SQLSTATE 22P05), as it refuses a NUL in jsonb."""
    await stack.store.pool.execute(f"""
        CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.body::text LIKE '%{marker}%' THEN
                RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'untranslatable_character';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_marked BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_marked();
    """)


async def test_an_append_the_database_refuses_ends_at_once_is_recorded_and_the_case_goes_on(stack: TestStack) -> None:
    """Defence in depth, for data the domain let through: non-retryable, refused by rule, counted for doctor."""
    ref = await report(stack, "refused-1")
    lead = unit(ref.lead_unit)
    await _refuse_marked_events(stack, "拒收")
    with pytest.raises(CommandRejected) as refused:
        await asyncio.wait_for(stack.client.dispute(ref.case_id, lead, "拒收的理由"), BOUND)
    assert refused.value.rule == "unstorable", str(refused.value)
    result = await asyncio.wait_for(stack.client.claim(ref.case_id, lead), BOUND)
    assert result.state.status == "claimed" and result.state.version == 6
    with pytest.raises(CommandRejected) as refused:
        await report(stack, "refused-2", description="拒收的举报", territory="st_huaxinjie")
    assert refused.value.rule == "unstorable"
    total, failures = await list_failures(stack.store.pool)
    assert total == 2 and {f.stream_id for f in failures} >= {ref.case_id}
    assert all("UntranslatableCharacterError" in f.error for f in failures)
    assert [row.case_id for row in await stack.client.list()] == [ref.case_id]
    assert (await verify(stack.store)).ok


async def test_the_append_activity_gives_up_at_once_on_a_nul(stack: TestStack) -> None:
    """The activity alone, with events no decider checked: a non-retryable failure naming the cause."""
    ref = await report(stack, "activity-1")
    events = [
        e.model_copy(update={"case_id": "poisoned", "event_id": f"poisoned-{e.version}"})
        for e in await stack.store.load(ref.case_id)
    ]
    events[0] = events[0].model_copy(update={"description": "坏\x00数据"})
    request = AppendEvents(case_id="poisoned", expected_version=0, events=events, state_after=fold(events))
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(AppendActivities(stack.store).append_events, request)
    assert failed.value.non_retryable and failed.value.type == "UnstorableEvents"
    assert "UntranslatableCharacterError" in str(failed.value)
    assert (await list_failures(stack.store.pool))[0] == 1


async def test_a_command_the_workers_model_refuses_is_a_clean_rejection_not_a_stuck_task(stack: TestStack) -> None:
    """A client that skips the SDK's checks sends a payload the update's argument model refuses."""
    ref = await report(stack, "raw-1")
    handle = stack.env.client.get_workflow_handle(workflow_id_for(ref.case_id))
    raw = {
        "type": "dispute",
        "command_id": "raw-dispute",
        "case_id": ref.case_id,
        "reason": "x",
        "actor": {"unit_id": ref.lead_unit, "role": "unit"},
        "extra_field": "refused by the model",
    }
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await asyncio.wait_for(handle.execute_update("command", raw, id="raw-dispute"), BOUND)
    refused = from_failure(failed.value, ref.case_id)
    assert refused.rule == "invalid_command" and "extra_field" in str(refused)
    result = await asyncio.wait_for(stack.client.claim(ref.case_id, unit(ref.lead_unit)), BOUND)
    assert result.state.status == "claimed"
