"""Why a case needs the dispatch office, and the clock the office watches (domain/office_queue.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain import commands as c
from rectify.domain.deadlines import Stage
from rectify.domain.office_queue import Need, attention, need_at, office_clock, urgent_at
from rectify.domain.state import CaseState
from rectify.domain.types import FALLBACK_RULE, Routing
from tests.support.given import LEAD, T0, claim, cmd, dispatcher, dispute, given, report, submit, tick, unit, verify


def extension(hours: float = 1) -> c.Command:
    return cmd(c.RequestExtension, unit(), hours=hours, reason="需要审批")


def decide_extension(granted: bool) -> c.Command:
    return cmd(c.DecideExtension, dispatcher(), granted=granted, reason="同意" if granted else "不同意")


def suspension() -> c.Command:
    return cmd(c.RequestSuspension, unit(), reason="现场封闭")


def decide_suspension(approved: bool) -> c.Command:
    return cmd(c.DecideSuspension, dispatcher(), approved=approved, reason="同意" if approved else "不同意")


def standing(state: CaseState | None) -> tuple[Need | None, str | None]:
    assert state is not None
    clock = office_clock(state)
    return attention(state), clock[0].value if clock else None


@pytest.mark.parametrize(
    ("commands", "need", "clock"),
    [
        ((report(),), Need.CLAIM, Stage.CLAIM),
        ((report(), claim()), None, Stage.RECTIFY),
        ((report(), dispute()), Need.DISPUTE, Stage.RECTIFY),
        ((report(), claim(), extension()), Need.REQUEST, Stage.RECTIFY),
        ((report(), claim(), extension(), decide_extension(True)), None, Stage.RECTIFY),
        ((report(), claim(), extension(), decide_extension(False)), None, Stage.RECTIFY),
        ((report(), claim(), suspension()), Need.REQUEST, Stage.RECTIFY),
        ((report(), claim(), suspension(), decide_suspension(False)), None, Stage.RECTIFY),
        ((report(), claim(), suspension(), decide_suspension(True)), None, None),  # suspended: no clock runs
        ((report(), claim(), submit()), Need.VERIFY, Stage.VERIFY),
        ((report(), claim(), submit(), verify(True)), None, None),
        ((report(), claim(), submit(), verify(False)), None, Stage.RECTIFY),  # rework: the unit's turn again
    ],
)
def test_each_standing_has_its_reason_and_its_clock(
    commands: tuple[c.Command, ...], need: Need | None, clock: Stage | None
) -> None:
    assert standing(given(*commands)) == (need, clock.value if clock else None)


def test_a_dispatch_the_router_made_only_as_a_fallback_waits_for_the_office_until_claimed() -> None:
    fallback = Routing(lead_unit=LEAD, territorial_unit=LEAD, grid_id="g1", rule=FALLBACK_RULE)
    assert standing(given(report(routing=fallback))) == (Need.UNROUTED, Stage.CLAIM.value)
    assert standing(given(report(routing=fallback), claim())) == (None, Stage.RECTIFY.value)
    state = given(report(routing=fallback))
    assert state is not None and state.due_at is not None  # before overdue, as the office must act first
    assert need_at(Need.UNROUTED, state.status, state.due_at, state.due_at) is Need.UNROUTED


def test_a_case_becomes_overdue_when_its_rectification_deadline_passes_and_not_before() -> None:
    state = given(report(), claim())
    assert state is not None and state.due_at is not None
    before, at = state.due_at - timedelta(seconds=1), state.due_at
    assert need_at(None, state.status, state.due_at, before) is None
    assert need_at(None, state.status, state.due_at, at) is Need.OVERDUE
    # a dispatched case waits for its claim until then, and is overdue after
    waiting = given(report())
    assert waiting is not None
    assert need_at(Need.CLAIM, waiting.status, waiting.due_at, waiting.opened_at) is Need.CLAIM
    assert need_at(Need.CLAIM, waiting.status, waiting.due_at, waiting.due_at) is Need.OVERDUE


@pytest.mark.parametrize("first", [Need.DISPUTE, Need.REQUEST, Need.UNROUTED])
def test_what_the_office_must_decide_stays_first_when_the_case_is_overdue(first: Need) -> None:
    state = given(report(), dispute())
    assert state is not None and state.due_at is not None
    assert need_at(first, state.status, state.due_at, state.due_at + timedelta(days=3)) is first


def test_a_submitted_case_is_never_overdue_for_rectification() -> None:
    state = given(report(), claim(), submit(), start=T0)
    assert state is not None and state.due_at is not None
    assert need_at(Need.VERIFY, state.status, state.due_at, state.due_at + timedelta(days=5)) is Need.VERIFY


def test_overdue_cases_climb_the_ladder_and_stay_overdue() -> None:
    later = given(report(), claim(), tick(), start=T0, step=timedelta(days=2))
    assert later is not None and later.escalation_level >= 1
    assert attention(later) is None
    assert need_at(attention(later), later.status, later.due_at, T0 + timedelta(days=4)) is Need.OVERDUE


def test_the_queue_sorts_overdue_cases_by_their_missed_deadline_and_others_by_the_office_clock() -> None:
    state = given(report())
    assert state is not None
    clock = office_clock(state)
    assert clock is not None
    assert urgent_at(Need.CLAIM, state.due_at, clock[1].due_at) == clock[1].due_at
    assert urgent_at(Need.OVERDUE, state.due_at, clock[1].due_at) == state.due_at
