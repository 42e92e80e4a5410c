"""A command is decided once: the update's validator decides, and its handler, run at the same moment on the same
state, records that decision instead of deciding again (workflows/case_workflow.py `_decision`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain import decider
from rectify.domain.types import Channel
from tests.support.scenario import REPORTER, point_in, unit


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def test_a_claim_is_decided_once(stack: TestStack, monkeypatch: pytest.MonkeyPatch) -> None:
    decided: Counter[str] = Counter()
    real = decider.decide

    def counting(state, command, now, policy):  # type: ignore[no-untyped-def]
        decided[command.type] += 1
        return real(state, command, now, policy)

    # The workflow module passes domain/ through its sandbox, so each run binds the function patched here.
    monkeypatch.setattr(decider, "decide", counting)
    ref = await stack.client.report(
        idempotency_key="decide-once",
        category="street_vending",
        description="占道经营",
        location=point_in(stack.city, "st_guanyinqiao"),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    decided.clear()  # the report itself was decided by the SDK (its routing) and by the workflow
    result = await stack.client.claim(ref.case_id, unit(ref.lead_unit))
    assert result.state.status == "claimed"
    assert decided["claim"] == 1
