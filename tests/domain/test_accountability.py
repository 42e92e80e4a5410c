"""问责 proceedings: the decider (given / when / then) and the child workflow on the time-skipping server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rectify.devstack import EmbeddedPostgres, TestStack
from rectify.domain.accountability import (
    DecideProceeding,
    OpenProceeding,
    Outcome,
    ProceedingTick,
    SubmitExplanation,
    decide_proceeding,
    fold_proceeding,
)
from rectify.domain.errors import NotAuthorised, WrongStatus
from rectify.domain.events import MissedDeadline
from rectify.domain.types import SYSTEM_ACTOR, Actor, Channel, Role
from tests.given import DEPT, LEAD, POLICY, T0, local, unit
from tests.scenario import INSPECTOR, REPORTER, photo, point_in

ID = "acc-case-1-9"
REVIEWER = Actor(unit_id="office_inspection", role=Role.REVIEWER)
_n = iter(range(10_000))


def referral(actor: Actor = SYSTEM_ACTOR) -> OpenProceeding:
    return OpenProceeding(
        command_id=f"c{next(_n)}",
        case_id=ID,
        actor=actor,
        subject_case_id="case-1",
        unit=LEAD,
        responsible_role=None,
        missed=(MissedDeadline(stage="rectify", due_at=T0),),
    )


def given(*commands: object, at: object = T0) -> object:
    state = None
    for command in commands:
        state = fold_proceeding(decide_proceeding(state, command, at, POLICY), state)
    return state


def explain(who: str = LEAD) -> SubmitExplanation:
    return SubmitExplanation(command_id=f"c{next(_n)}", case_id=ID, actor=unit(who), text="人手不足，已整改")


def decide(outcome: Outcome = Outcome.INTERVIEW, actor: Actor = REVIEWER) -> DecideProceeding:
    return DecideProceeding(command_id=f"c{next(_n)}", case_id=ID, actor=actor, outcome=outcome, reason="超期未改")


def tick() -> ProceedingTick:
    return ProceedingTick(command_id=f"c{next(_n)}", case_id=ID, actor=SYSTEM_ACTOR)


def test_a_referral_gives_the_unit_three_working_days_to_explain_and_names_its_post() -> None:
    [opened] = decide_proceeding(None, referral(), local("2026-11-24 10:00"), POLICY)
    assert opened.explanation_due_at == local("2026-11-27 10:00")  # 21 working hours: Tue 10:00 → Fri 10:00
    assert opened.unit == LEAD and opened.responsible_role == "主要负责人"
    with pytest.raises(NotAuthorised, match="opened by the ladder"):
        decide_proceeding(None, referral(actor=unit()), T0, POLICY)


def test_only_the_unit_explains_and_only_a_reviewer_decides_after_it() -> None:
    opened = given(referral())
    with pytest.raises(NotAuthorised, match=f"only {LEAD} may explain"):
        decide_proceeding(opened, explain(DEPT), T0, POLICY)
    with pytest.raises(WrongStatus, match="wait for the unit's explanation"):
        decide_proceeding(opened, decide(), T0, POLICY)
    explained = given(referral(), explain())
    with pytest.raises(NotAuthorised, match="only a reviewer"):
        decide_proceeding(explained, decide(actor=Actor(unit_id="office_command", role=Role.DISPATCHER)), T0, POLICY)
    decided, closed = decide_proceeding(explained, decide(Outcome.PUBLIC_CRITICISM), T0, POLICY)
    assert (decided.type, decided.outcome, decided.points, closed.type) == (
        "proceeding_decided",
        "public_criticism",
        5.0,
        "proceeding_closed",
    )
    done = given(referral(), explain(), decide())
    with pytest.raises(WrongStatus, match="is closed"):
        decide_proceeding(done, decide(), T0, POLICY)


def test_a_missed_explanation_is_recorded_when_its_deadline_passes_and_then_the_reviewer_decides() -> None:
    opened = given(referral(), at=local("2026-11-24 10:00"))
    assert decide_proceeding(opened, tick(), local("2026-11-27 09:59"), POLICY) == []
    [missed] = decide_proceeding(opened, tick(), local("2026-11-27 10:00"), POLICY)
    assert missed.type == "explanation_missed" and missed.due_at == local("2026-11-27 10:00")
    after = fold_proceeding([missed], opened)
    with pytest.raises(WrongStatus, match="explanation window has closed"):
        decide_proceeding(after, explain(), local("2026-11-27 11:00"), POLICY)
    assert [e.type for e in decide_proceeding(after, decide(Outcome.DISCIPLINE), T0, POLICY)] == [
        "proceeding_decided",
        "proceeding_closed",
    ]


@pytest.fixture
async def stack(pg: EmbeddedPostgres) -> AsyncIterator[TestStack]:
    async with TestStack(pg=pg) as s:
        yield s


async def wait_for(check, seconds: float = 30):
    give_up = time.monotonic() + seconds
    while not (found := await check()):
        assert time.monotonic() < give_up, "timed out"
        await asyncio.sleep(0.05)
    return found


async def test_the_top_rung_opens_a_proceeding_that_outlives_the_case_and_costs_the_unit_points(
    stack: TestStack,
) -> None:
    ref = await stack.client.report(
        idempotency_key="acc-1",
        category="street_vending",
        description="占道经营",
        location=point_in(stack.city, "st_guanyinqiao"),
        channel=Channel.HOTLINE,
        actor=REPORTER,
    )
    await stack.env.sleep(timedelta(days=12))  # nobody acts: 催办, 曝光, 扣分, 问责
    [row] = await wait_for(lambda: stack.client.proceedings(case_id=ref.case_id))
    assert row.unit == ref.lead_unit and row.status == "referred"
    lead = Actor(unit_id=ref.lead_unit, role=Role.UNIT)
    await stack.client.claim(ref.case_id, lead)  # the case is fixed and closed meanwhile …
    await stack.client.submit(ref.case_id, lead, [photo()], "已整改")
    await stack.client.verify(ref.case_id, INSPECTOR, True)
    result = await stack.client.explain(row.proceeding_id, lead, "人手不足，已增派力量")  # … the proceeding goes on
    assert result.state.status == "explained"
    decided = await stack.client.decide_accountability(row.proceeding_id, REVIEWER, Outcome.INTERVIEW, "约谈主要负责人")
    assert (decided.state.status, decided.state.outcome, decided.state.points) == ("closed", "interview", 2.0)
    _, events = await stack.client.proceeding(row.proceeding_id)
    assert [e.type for e in events] == [
        "proceeding_opened",
        "explanation_submitted",
        "proceeding_decided",
        "proceeding_closed",
    ]
    assert [m.stage for m in events[0].missed] == ["claim", "rectify"]
    opened_on = events[0].occurred_at
    counts = await stack.store.unit_counts(opened_on - timedelta(days=30), decided.events[0].occurred_at + timedelta(1))
    assert counts[ref.lead_unit].points == 2.0 + 2.0  # 扣分 rung (2) and the interview (2)
    assert (await stack.store.diff_read_models()).clean
    inbox = await wait_for(lambda: stack.store.inbox(ref.lead_unit))
    assert any("问责" in n["text"] for n in inbox)
