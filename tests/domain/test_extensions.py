"""Extensions (延期): the cap on how many and how much, who decides, and where the deadline moves.

given(accepted commands) / when(command) / then(events or error), on the decider alone.
"""

from __future__ import annotations

import pytest

from rectify.domain import commands as c
from rectify.domain.errors import NotAuthorised, WindowClosed, WrongStatus
from rectify.domain.policy import ExtensionLimits
from rectify.domain.state import fold
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
    reporter,
    submit,
    tick,
    types,
    unit,
    when,
)

#: 49 working hours: the total-hours cap is far off, so only the count binds.
LONG = "illegal_structures"


def extend(hours: float, actor: Actor | None = None) -> c.Command:
    return cmd(c.RequestExtension, actor or unit(), hours=hours, reason="需拆除审批")


def grant(actor: Actor | None = None) -> c.Command:
    return cmd(c.DecideExtension, actor or dispatcher(), granted=True, reason="同意延期")


def refuse(actor: Actor | None = None) -> c.Command:
    return cmd(c.DecideExtension, actor or dispatcher(), granted=False, reason="不同意")


# -- how many -----------------------------------------------------------------------------------------


def test_a_third_extension_is_refused_when_the_policy_allows_two() -> None:
    state = given(report(category=LONG), claim(), extend(1), grant(), extend(1), grant())
    assert state.extensions_granted == 2 and state.extension_hours == 2
    with pytest.raises(WindowClosed, match="2 extensions granted already; the policy allows at most 2"):
        when(state, extend(1))


def test_a_second_extension_may_still_be_asked_for_after_one() -> None:
    state = given(report(category=LONG), claim(), extend(1), grant())
    assert types(when(state, extend(1))) == ["extension_requested"]


def test_refused_requests_do_not_count_against_the_cap() -> None:
    state = given(report(category=LONG), claim(), extend(1), refuse(), extend(1), refuse(), extend(1), refuse())
    assert state.extensions_granted == 0 and state.extension_hours == 0 and state.extension_pending is None
    assert types(when(state, extend(1))) == ["extension_requested"]


def test_a_policy_of_no_extensions_refuses_the_first() -> None:
    none = POLICY.model_copy(update={"extensions": ExtensionLimits(max_count=0)})
    with pytest.raises(WindowClosed, match="0 extensions granted already; the policy allows at most 0"):
        when(given(report(), claim(), policy=none), extend(1), policy=none)


# -- how much -----------------------------------------------------------------------------------------


def test_extensions_may_add_up_to_the_categorys_own_limit_and_no_more() -> None:
    state = given(report(), claim(), extend(1.5), grant())  # 占道经营: 2 h, so 2 h of extensions in all
    assert types(when(state, extend(0.5))) == ["extension_requested"]  # exactly the cap
    with pytest.raises(WindowClosed, match=r"would total 2\.1 h; at most 2 h \(1 × the category's 2 h\)"):
        when(state, extend(0.6))


def test_one_request_beyond_the_cap_is_refused_at_once() -> None:
    with pytest.raises(WindowClosed, match=r"would total 2\.5 h; at most 2 h"):
        when(given(report(), claim()), extend(2.5))


def test_the_total_cap_is_the_policy_ratio_times_the_category_limit() -> None:
    half = POLICY.model_copy(update={"extensions": ExtensionLimits(max_count=2, max_total_ratio=0.5)})
    state = given(report(), claim(), policy=half)
    assert types(when(state, extend(1), policy=half)) == ["extension_requested"]
    with pytest.raises(WindowClosed, match=r"would total 1\.25 h; at most 1 h \(0\.5 × the category's 2 h\)"):
        when(state, extend(1.25), policy=half)
    long = given(report(category=LONG), claim(), policy=half)  # 49 h: 24.5 h
    assert types(when(long, extend(24.5), policy=half)) == ["extension_requested"]
    with pytest.raises(WindowClosed, match=r"at most 24\.5 h"):
        when(long, extend(24.75), policy=half)


def test_one_request_at_a_time() -> None:
    with pytest.raises(WrongStatus, match="an extension request is already pending"):
        when(given(report(category=LONG), claim(), extend(1)), extend(1))


# -- who asks, who decides ----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [unit(OTHER), dispatcher(), inspector(), reporter()])
def test_only_the_lead_unit_asks_for_an_extension(actor: Actor) -> None:
    with pytest.raises(NotAuthorised):
        when(given(report(), claim()), extend(1, actor))


def test_an_extension_is_asked_for_while_dispatched_or_rectifying_only() -> None:
    assert types(when(given(report()), extend(1))) == ["extension_requested"]
    for state in (given(report(), dispute()), given(report(), claim(), submit())):
        with pytest.raises(WrongStatus, match="request_extension needs the case to be claimed or dispatched"):
            when(state, extend(1))


@pytest.mark.parametrize("actor", [unit(), unit(OTHER), inspector(), reporter()])
@pytest.mark.parametrize("decision", [grant, refuse])
def test_only_a_dispatcher_decides_an_extension(actor: Actor, decision) -> None:
    state = given(report(), claim(), extend(1))
    with pytest.raises(NotAuthorised, match=f"decide_extension may be done only by a dispatcher; {actor.unit_id}"):
        when(state, decision(actor))


def test_there_must_be_a_request_to_decide() -> None:
    with pytest.raises(WrongStatus, match="no extension request is pending"):
        when(given(report(), claim()), grant())
    with pytest.raises(WrongStatus, match="no extension request is pending"):
        when(given(report(), claim(), extend(1), refuse()), grant())


# -- where the deadline goes --------------------------------------------------------------------------


def test_a_granted_extension_moves_the_deadline_by_working_hours_from_the_old_deadline() -> None:
    state = given(report(), claim(), extend(2))  # due Tuesday 11:30
    events = when(state, grant(), at=local("2026-11-24 10:00"))
    assert types(events) == ["extension_granted", "deadline_set"]
    assert events[0].hours == 2 and events[1].stage == "rectify" and not events[1].estimated
    after = fold(events, state)
    assert after.due_at == local("2026-11-24 15:30")  # half an hour before lunch, 1.5 h after it
    assert (after.extensions_granted, after.extension_hours, after.extension_pending) == (1, 2, None)


def test_an_extension_granted_after_the_deadline_counts_from_the_decision() -> None:
    state = given(report(), claim(), extend(1))  # due Tuesday 11:30, decided at 16:00
    after = fold(when(state, grant(), at=local("2026-11-24 16:00")), state)
    assert after.due_at == local("2026-11-24 17:00")


def test_a_refused_extension_leaves_the_deadline() -> None:
    state = given(report(), claim(), extend(1))
    events = when(state, refuse())
    after = fold(events, state)
    assert types(events) == ["extension_refused"]
    assert after.due_at == state.due_at and after.extension_pending is None and after.extensions_granted == 0


def test_an_urgent_categorys_extension_counts_clock_hours() -> None:
    state = given(report(category="open_manhole"), claim(), extend(4))  # due Tuesday 13:30 on the clock
    after = fold(when(state, grant(), at=local("2026-11-24 10:00")), state)
    assert after.due_at == local("2026-11-24 17:30")  # on the working calendar it would be Wednesday 09:00


def test_an_extension_after_the_ladder_started_restarts_it_from_the_new_deadline() -> None:
    state = given_at(
        (T0, report()),
        (local("2026-11-24 09:40"), claim()),
        (local("2026-11-24 10:00"), extend(1)),
        (local("2026-11-24 11:30"), tick()),  # due: 催办
        (local("2026-11-24 16:00"), grant()),
    )
    assert state.escalation_level == 0 and not state.deadlines["rectify"].missed
    assert state.due_at == local("2026-11-24 17:00")
    assert when(state, tick(), at=local("2026-11-24 16:59")) == []
    again = when(state, tick(), at=local("2026-11-24 17:00"))
    assert [(e.type, getattr(e, "level", None)) for e in again] == [("deadline_missed", None), ("escalation_raised", 1)]
    assert again[1].due_at == local("2026-11-24 17:00")


def test_a_reassignment_drops_a_pending_request() -> None:
    state = given(report(), extend(1), cmd(c.ReassignCase, dispatcher(), to_unit=OTHER, reason="改派"))
    assert state.extension_pending is None and state.status is CaseStatus.DISPATCHED
    with pytest.raises(WrongStatus, match="no extension request is pending"):
        when(state, grant())


def test_a_request_left_pending_is_decided_only_while_the_rectification_clock_runs() -> None:
    submitted = given(report(), claim(), extend(1), submit())
    with pytest.raises(WrongStatus, match="decide_extension needs the case to be claimed or dispatched or disputed"):
        when(submitted, grant())
    reworked = fold(when(submitted, cmd(c.VerifyCase, inspector(), passed=False)), submitted)
    assert types(when(reworked, grant())) == ["extension_granted", "deadline_set"]  # still pending, decided now
    suspended = given(
        report(),
        claim(),
        extend(1),
        cmd(c.RequestSuspension, unit(), reason="封闭"),
        cmd(c.DecideSuspension, dispatcher(), approved=True, reason="同意"),
    )
    with pytest.raises(WrongStatus, match=r"status suspended\): decide_extension"):
        when(suspended, grant())  # granted now, the resumption would move the new deadline by time before it


def test_an_ended_case_with_a_request_left_pending_refuses_the_decision() -> None:
    withdrawn = given(report(), extend(1), cmd(c.WithdrawCase, reporter(), reason="已解决"))
    for decision in (grant(), refuse()):
        with pytest.raises(WrongStatus, match=r"status withdrawn\): decide_extension"):
            when(withdrawn, decision)
