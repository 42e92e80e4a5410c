"""A report is answered by its workflow's first task: the SDK sends the `opened` update with the start
(update-with-start), so opening a case takes one workflow task, not a start and then a second task for the update.
The same report sent again is answered from the running workflow, and starts nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.types import Channel
from tests.support.scenario import REPORTER, point_in


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def test_a_report_is_opened_and_answered_in_one_workflow_task(stack: TestStack) -> None:
    report = {
        "idempotency_key": "one-task",
        "category": "street_vending",
        "description": "占道经营",
        "location": point_in(stack.city, "st_guanyinqiao"),
        "channel": Channel.HOTLINE,
        "actor": REPORTER,
    }
    ref = await stack.client.report(**report)
    handle = stack.env.client.get_workflow_handle(ref.workflow_id)
    history = await handle.fetch_history()
    types = [e.event_type for e in history.events]
    answered = types.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    assert types[:answered].count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1
    assert ref.status == "dispatched" and ref.lead_unit is not None

    run_id = (await handle.describe()).run_id
    again = await stack.client.report(**report)
    assert (again.case_id, again.status) == (ref.case_id, ref.status)
    assert (await handle.describe()).run_id == run_id  # the same run answered it
