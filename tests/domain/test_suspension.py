"""Suspension (挂起) and resumption: every clock stops, and each one runs on with the time it had left.

given(accepted commands at their moments) / when(command) / then(events or error), on the decider alone.
The test city's calendar: 08:30-12:00 and 14:00-17:30, weekends off. T0 is Tuesday 2026-11-24 09:30.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain import commands as c
from rectify.domain.deadlines import rung_moment
from rectify.domain.errors import NotAuthorised, WrongStatus
from rectify.domain.escalation import next_due
from rectify.domain.state import CaseState, fold
from rectify.domain.types import Actor, CaseStatus
from tests.support.given import (
    OTHER,
    POLICY,
    T0,
    claim,
    cmd,
    dispatcher,
    dispute,
    given,
    given_at,
    inspector,
    local,
    report,
    submit,
    tick,
    types,
    unit,
    when,
)

CALENDAR = POLICY.calendar


def ask(actor: Actor | None = None) -> c.Command:
    return cmd(c.RequestSuspension, actor or unit(), reason="现场被围挡施工封闭")


def approve(actor: Actor | None = None) -> c.Command:
    return cmd(c.DecideSuspension, actor or dispatcher(), approved=True, reason="同意挂起")


def resume(actor: Actor | None = None) -> c.Command:
    return cmd(c.ResumeCase, actor or dispatcher(), reason="围挡已拆除")


def due_of(state: CaseState, stage: str) -> object:
    return state.deadlines[stage].due_at


# -- each resume path keeps the time that was left ----------------------------------------------------


def test_resumed_from_rectifying_the_deadline_keeps_the_working_time_left() -> None:
    state = given_at(
        (T0, report(category="illegal_structures")),  # 49 working hours: due Thursday 3 Dec 09:30
        (local("2026-11-24 09:40"), claim()),
        (local("2026-11-24 10:00"), ask()),
        (local("2026-11-24 10:30"), approve()),
    )
    assert state.status is CaseStatus.SUSPENDED and state.suspended_from is CaseStatus.CLAIMED
    left = CALENDAR.working_time_between(local("2026-11-24 10:30"), state.due_at)
    assert left == timedelta(hours=48)
    back_at = local("2026-11-30 15:00")
    events = when(state, resume(), at=back_at)
    assert types(events) == ["case_resumed", "deadline_set"] and events[0].paused_hours == 0  # no ladder yet
    after = fold(events, state)
    assert after.status is CaseStatus.CLAIMED and after.suspended_at is None and after.suspended_from is None
    assert after.due_at == local("2026-12-09 12:00")
    assert CALENDAR.working_time_between(back_at, after.due_at) == left


def test_resumed_from_dispatched_both_the_claim_and_the_rectification_deadline_move() -> None:
    state = given_at(
        (T0, report(category="illegal_structures")),  # claim due 11:30, rectify due Thursday 3 Dec 09:30
        (local("2026-11-24 09:40"), ask()),
        (local("2026-11-24 10:00"), approve()),
    )
    events = when(state, resume(), at=local("2026-11-25 16:00"))  # 11 working hours later
    after = fold(events, state)
    assert types(events) == ["case_resumed", "deadline_set", "deadline_set"]
    assert after.status is CaseStatus.DISPATCHED
    assert due_of(after, "claim") == local("2026-11-25 17:30")  # the 1.5 h that were left
    assert due_of(after, "rectify") == local("2026-12-04 15:30")  # 09:30 on 3 Dec + 11 h
    assert types(when(after, claim())) == ["case_claimed"]


def test_resumed_while_disputed_it_is_disputed_again_with_the_rectification_time_left() -> None:
    state = given_at(
        (T0, report(category="illegal_structures")),
        (local("2026-11-24 09:40"), dispute()),
        (local("2026-11-24 10:00"), ask(dispatcher())),  # the dispatcher may ask too
        (local("2026-11-24 10:30"), approve()),
    )
    before = state.due_at
    events = when(state, resume(), at=local("2026-11-25 10:30"))  # 7 working hours later
    after = fold(events, state)
    assert after.status is CaseStatus.DISPUTED and after.dispute_reason == "不属于本单位"
    assert after.due_at == CALENDAR.add_working_time(before, timedelta(hours=7)) == local("2026-12-04 09:30")
    # Only the clocks that ran in the status it was suspended from move: the claim clock runs while
    # dispatched, not while disputed, so its deadline stays where it was.
    assert [e.stage for e in events if e.type == "deadline_set"] == ["rectify"]
    assert due_of(after, "claim") == due_of(state, "claim") == local("2026-11-24 11:30")


def test_an_urgent_category_moves_by_clock_time_and_its_claim_deadline_by_working_time() -> None:
    state = given_at(
        (T0, report(category="open_manhole")),  # claim due 11:30 (working), rectify due 13:30 (clock)
        (local("2026-11-24 09:40"), ask()),
        (local("2026-11-24 10:00"), approve()),
    )
    after = fold(when(state, resume(), at=local("2026-11-25 10:00")), state)  # 24 h on the clock, 7 working
    assert due_of(after, "rectify") == local("2026-11-25 13:30")  # the 3.5 clock hours that were left
    assert due_of(after, "claim") == local("2026-11-25 11:30")  # the 1.5 working hours that were left
    assert not after.deadlines["rectify"].estimated


def test_a_deadline_already_missed_is_not_moved_and_the_ladder_waits_instead() -> None:
    state = given_at(
        (T0, report()),  # 占道经营: due 11:30
        (local("2026-11-24 09:40"), claim()),
        (local("2026-11-24 11:30"), tick()),  # missed: 催办
        (local("2026-11-24 13:50"), ask()),
        (local("2026-11-24 14:00"), approve()),
    )
    assert state.deadlines["rectify"].missed and state.escalation_level == 1
    events = when(state, resume(), at=local("2026-11-26 14:00"))
    assert types(events) == ["case_resumed"]  # no deadline moves: the one that ran is already missed
    assert events[0].paused_hours == 14  # Tue 14:00-17:30, all of Wednesday, Thursday morning
    after = fold(events, state)
    assert after.due_at == local("2026-11-24 11:30") and after.deadlines["rectify"].missed
    assert after.ladder_paused_hours == 14


# -- the ladder moves by the suspended time -----------------------------------------------------------


def _climbing_and_resumed() -> CaseState:
    return given_at(
        (T0, report()),
        (local("2026-11-24 09:40"), claim()),
        (local("2026-11-24 11:30"), tick()),
        (local("2026-11-24 13:50"), ask()),
        (local("2026-11-24 14:00"), approve()),
        (local("2026-11-26 14:00"), resume()),
    )


def test_the_next_rung_comes_later_by_the_suspended_working_time() -> None:
    state = _climbing_and_resumed()
    # 曝光 is due 7 working hours after the deadline: Wednesday 11:30 without the suspension, 14 h later with it.
    assert next_due(state, POLICY) == local("2026-11-27 11:30")
    assert when(state, tick(), at=local("2026-11-27 11:29")) == []
    raised = when(state, tick(), at=local("2026-11-27 11:30"))
    assert [(e.type, e.level, e.due_at) for e in raised] == [("escalation_raised", 2, local("2026-11-27 11:30"))]
    after = fold(raised, state)
    assert next_due(after, POLICY) == CALENDAR.add_working_time(local("2026-11-24 11:30"), timedelta(hours=21 + 14))


def test_the_rung_moment_adds_the_paused_time_to_the_rungs_own_offset() -> None:
    missed, rung = local("2026-11-24 11:30"), POLICY.ladder[1]  # 曝光, 7 h
    assert rung_moment(POLICY, missed, rung, timedelta(0)) == local("2026-11-25 11:30")
    assert rung_moment(POLICY, missed, rung, timedelta(hours=14)) == local("2026-11-27 11:30")


def test_two_suspensions_add_up() -> None:
    state = _climbing_and_resumed()
    state = given_at(
        (local("2026-11-26 15:00"), ask()),
        (local("2026-11-26 15:30"), approve()),
        (local("2026-11-27 15:30"), resume()),  # 7 working hours later
        state=state,
    )
    assert state.ladder_paused_hours == 14 + 7
    assert next_due(state, POLICY) == CALENDAR.add_working_time(local("2026-11-24 11:30"), timedelta(hours=7 + 21))


def test_a_new_rectification_deadline_starts_the_ladder_without_the_old_pause() -> None:
    state = _climbing_and_resumed()
    state = given_at(
        (local("2026-11-26 14:10"), cmd(c.RequestExtension, unit(), hours=1, reason="需协调")),
        (local("2026-11-26 14:20"), cmd(c.DecideExtension, dispatcher(), granted=True, reason="同意")),
        state=state,
    )
    assert state.due_at == local("2026-11-26 15:20") and state.ladder_paused_hours == 0
    state = given_at((local("2026-11-26 15:20"), tick()), state=state)
    assert next_due(state, POLICY) == CALENDAR.add_working_time(local("2026-11-26 15:20"), timedelta(hours=7))


def test_nothing_comes_due_while_suspended() -> None:
    state = given_at(
        (T0, report()),
        (local("2026-11-24 09:40"), claim()),
        (local("2026-11-24 11:30"), tick()),
        (local("2026-11-24 13:50"), ask()),
        (local("2026-11-24 14:00"), approve()),
    )
    assert next_due(state, POLICY) is None
    assert when(state, tick(), at=local("2026-12-24 14:00")) == []


# -- who and when -------------------------------------------------------------------------------------


def test_the_lead_unit_or_a_dispatcher_asks_once_and_only_a_dispatcher_decides() -> None:
    state = given(report(), claim())
    with pytest.raises(NotAuthorised, match=f"only the lead unit .* {OTHER} is not it"):
        when(state, ask(unit(OTHER)))
    with pytest.raises(NotAuthorised):
        when(state, ask(inspector()))
    pending = fold(when(state, ask()), state)
    assert pending.suspension_pending and pending.status is CaseStatus.CLAIMED
    with pytest.raises(WrongStatus, match="a suspension request is already pending"):
        when(pending, ask(dispatcher()))
    for actor in (unit(), inspector()):
        with pytest.raises(NotAuthorised, match="decide_suspension may be done only by a dispatcher"):
            when(pending, approve(actor))
    refused = fold(when(pending, cmd(c.DecideSuspension, dispatcher(), approved=False, reason="不同意")), pending)
    assert refused.status is CaseStatus.CLAIMED and not refused.suspension_pending
    with pytest.raises(WrongStatus, match="no suspension request is pending"):
        when(refused, approve())


def test_only_a_dispatcher_resumes_and_only_a_suspended_case() -> None:
    state = given(report(), claim(), ask(), approve())
    with pytest.raises(NotAuthorised, match="resume may be done only by a dispatcher"):
        when(state, resume(unit()))
    with pytest.raises(WrongStatus, match="resume needs the case to be suspended"):
        when(given(report(), claim()), resume())


def test_a_submitted_case_cannot_be_suspended() -> None:
    with pytest.raises(WrongStatus, match="request_suspension needs the case to be"):
        when(given(report(), claim(), submit()), ask())


def test_a_suspension_left_pending_cannot_suspend_a_case_closed_or_ended_meanwhile() -> None:
    closed = given(report(), claim(), ask(), submit(), cmd(c.VerifyCase, inspector(), passed=True))
    assert closed.status is CaseStatus.CLOSED and closed.suspension_pending
    for decision in (approve(), cmd(c.DecideSuspension, dispatcher(), approved=False, reason="不同意")):
        with pytest.raises(
            WrongStatus, match="decide_suspension needs the case to be claimed or dispatched or disputed"
        ):
            when(closed, decision)
    rejected = given(report(), ask(), cmd(c.RejectCase, dispatcher(), reason="不予立案"))
    with pytest.raises(WrongStatus, match=r"status rejected\): decide_suspension"):
        when(rejected, approve())
    reworked = given(report(), claim(), ask(), submit(), cmd(c.VerifyCase, inspector(), passed=False))
    assert types(when(reworked, approve())) == ["case_suspended"]
