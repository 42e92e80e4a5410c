"""The case decider, one behaviour per test: given(accepted commands) / when(command) / then(events or error)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from rectify.domain import commands as c
from rectify.domain.errors import (
    DomainError,
    InvalidCommand,
    NotAuthorised,
    UnknownCategory,
    UnknownUnit,
    WindowClosed,
    WrongStatus,
)
from rectify.domain.events import event_body, parse_event
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR, CaseStatus
from tests.support.given import (
    CASE,
    DEPT,
    LEAD,
    OTHER,
    T0,
    auditor,
    claim,
    cmd,
    dispatcher,
    dispute,
    given,
    inspector,
    local,
    report,
    reporter,
    submit,
    types,
    unit,
    verify,
    when,
)


def test_a_report_is_dispatched_to_the_routed_lead_unit_with_its_deadline() -> None:
    events = when(None, report(), at=T0)  # Tuesday 09:30
    assert types(events) == ["case_reported", "deadline_set", "case_dispatched", "deadline_set", "deadline_set"]
    assert [e.version for e in events] == [1, 2, 3, 4, 5]
    dispatched = events[2]
    assert dispatched.routing.lead_unit == LEAD and dispatched.actor.role == "system"
    deadlines = {e.stage: e.due_at for e in events if e.type == "deadline_set"}
    assert deadlines == {
        "dispatch": local("2026-11-24 10:30"),
        "claim": local("2026-11-24 11:30"),
        "rectify": local("2026-11-24 11:30"),
    }
    state = fold(events)
    assert state.due_at == local("2026-11-24 11:30") and set(state.deadlines) == {"claim", "rectify"}


@pytest.mark.parametrize("description", ["", "   \n\t "])
def test_an_empty_description_is_refused(description: str) -> None:
    with pytest.raises(InvalidCommand, match="description is empty"):
        when(None, report(description=description))


def test_a_description_of_2000_characters_is_accepted_and_2001_refused() -> None:
    assert when(None, report(description="长" * 2000))[0].description == "长" * 2000
    with pytest.raises(InvalidCommand, match="2001 characters; at most 2000"):
        when(None, report(description="长" * 2001))


def test_an_unknown_category_is_refused_naming_it() -> None:
    with pytest.raises(UnknownCategory, match="'flying_cars'"):
        when(None, report(category="flying_cars"))


def test_an_unrouted_report_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="not routed"):
        when(None, report(routing=None))


def test_a_report_routed_to_an_unknown_unit_is_refused() -> None:
    from tests.support.given import routing

    with pytest.raises(UnknownUnit, match="'st_nowhere'"):
        when(None, report(routing=routing("st_nowhere")))


def test_the_case_id_must_derive_from_the_idempotency_key() -> None:
    with pytest.raises(InvalidCommand, match="idempotency key"):
        when(None, report(case_id="made-up"))


def test_only_the_lead_unit_claims() -> None:
    state = given(report())
    with pytest.raises(NotAuthorised, match=f"only the lead unit {LEAD} may claim; {OTHER} is not it"):
        when(state, claim(unit(OTHER)))
    with pytest.raises(NotAuthorised, match="only by a unit"):
        when(state, claim(dispatcher()))
    assert types(when(state, claim())) == ["case_claimed"]


def test_claiming_twice_names_the_status() -> None:
    state = given(report(), claim())
    with pytest.raises(WrongStatus, match=r"status claimed\): claim needs the case to be dispatched"):
        when(state, claim())


def test_dispute_then_reassign_moves_the_lead_unit_and_the_deadline() -> None:
    state = given(report(), dispute())
    at = local("2026-11-24 12:30")  # in the lunch break: the clock starts at 14:00
    events = when(state, cmd(c.ReassignCase, dispatcher(), to_unit=DEPT, reason="改派"), at=at)
    after = fold(events, state)
    assert types(events) == ["case_reassigned", "deadline_set", "deadline_set"] and events[0].from_unit == LEAD
    assert after.lead_unit == DEPT and after.status is CaseStatus.DISPATCHED
    assert after.due_at == local("2026-11-24 16:00")
    with pytest.raises(NotAuthorised, match=f"only the lead unit {DEPT}"):
        when(after, claim(unit(LEAD)))


def test_a_dispute_upheld_returns_the_case_to_the_same_unit() -> None:
    state = given(report(), dispute())
    after = fold(when(state, cmd(c.UpholdDispatch, dispatcher(), reason="属地管理")), state)
    assert after.status is CaseStatus.DISPATCHED and after.lead_unit == LEAD and after.dispute_reason is None


def test_reassigning_to_an_unknown_or_the_same_unit_is_refused() -> None:
    state = given(report(), dispute())
    with pytest.raises(UnknownUnit, match="'dept_nowhere'"):
        when(state, cmd(c.ReassignCase, dispatcher(), to_unit="dept_nowhere", reason="x"))
    with pytest.raises(InvalidCommand, match="already the lead unit"):
        when(state, cmd(c.ReassignCase, dispatcher(), to_unit=LEAD, reason="x"))
    with pytest.raises(NotAuthorised, match="only by a dispatcher"):
        when(state, cmd(c.ReassignCase, unit(), to_unit=DEPT, reason="x"))


def test_a_submission_without_evidence_cannot_even_be_built() -> None:
    with pytest.raises(ValidationError, match="evidence"):
        c.SubmitRectification(command_id="x", case_id=CASE, actor=unit(), evidence=(), note="")


def test_verification_passed_closes_the_case() -> None:
    state = given(report(), claim(), submit())
    after = fold(when(state, verify(True)), state)
    assert after.status is CaseStatus.CLOSED and after.closed_at == T0 + timedelta(hours=1)


def test_verification_failed_orders_rework_with_a_new_deadline() -> None:
    state = given(report(), claim(), submit())
    events = when(state, verify(False), at=local("2026-11-24 16:30"))
    after = fold(events, state)
    assert types(events) == ["rework_ordered", "deadline_set"]
    assert after.status is CaseStatus.CLAIMED and after.rework_count == 1
    assert after.due_at == local("2026-11-25 09:30")  # 1 h today, 1 h tomorrow morning


def test_only_an_inspector_or_dispatcher_verifies() -> None:
    state = given(report(), claim(), submit())
    with pytest.raises(NotAuthorised, match="inspector or dispatcher"):
        when(state, verify(True, unit()))
    assert types(when(state, verify(True, dispatcher()))) == ["case_closed", "deadline_set"]


def test_rejection_is_for_dispatchers_before_the_claim() -> None:
    state = given(report())
    with pytest.raises(NotAuthorised, match="dispatcher"):
        when(state, cmd(c.RejectCase, inspector(), reason="x"))
    assert types(when(state, cmd(c.RejectCase, dispatcher(), reason="不予立案"))) == ["case_rejected"]
    with pytest.raises(WrongStatus, match="claimed"):
        when(given(report(), claim()), cmd(c.RejectCase, dispatcher(), reason="x"))


def test_the_reporter_withdraws_before_the_claim_but_not_after() -> None:
    assert types(when(given(report()), cmd(c.WithdrawCase, reporter(), reason="已解决"))) == ["case_withdrawn"]
    with pytest.raises(WrongStatus, match=r"status claimed\): withdraw"):
        when(given(report(), claim()), cmd(c.WithdrawCase, reporter(), reason="已解决"))


@pytest.mark.parametrize(
    ("target_status", "into", "error", "words"),
    [
        (None, "other-case", WrongStatus, "other-case was not found"),
        (CaseStatus.CLOSED, "other-case", WrongStatus, "other-case is closed"),
        (CaseStatus.DISPATCHED, CASE, InvalidCommand, "into itself"),
    ],
)
def test_a_merge_needs_another_open_case(
    target_status: CaseStatus | None, into: str, error: type[DomainError], words: str
) -> None:
    state = given(report())
    with pytest.raises(error, match=words):
        when(state, cmd(c.MergeCase, dispatcher(), into_case_id=into, target_status=target_status))


def test_a_merged_case_is_final() -> None:
    state = given(report())
    merged = fold(
        when(state, cmd(c.MergeCase, dispatcher(), into_case_id="other", target_status=CaseStatus.CLAIMED)), state
    )
    assert merged.status is CaseStatus.MERGED and merged.merged_into == "other"
    with pytest.raises(WrongStatus, match="merged"):
        when(merged, claim())


def test_the_merge_target_records_the_case_it_absorbed_once_and_in_any_status() -> None:
    for state in (given(report()), given(report(), claim(), submit(), verify(True))):
        events = when(state, cmd(c.AbsorbCase, dispatcher(), merged_case_id="dup-1"))
        assert types(events) == ["case_absorbed"] and events[0].merged_case_id == "dup-1"
        after = fold(events, state)
        assert after.absorbed == ("dup-1",) and after.status is state.status
        assert when(after, cmd(c.AbsorbCase, dispatcher(), merged_case_id="dup-1")) == []  # the signal came twice
        assert types(when(after, cmd(c.AbsorbCase, SYSTEM_ACTOR, merged_case_id="dup-2"))) == ["case_absorbed"]


@pytest.mark.parametrize(
    ("actor", "merged", "error", "words"),
    [
        (unit(), "dup-1", NotAuthorised, "dispatcher or system"),
        (reporter(), "dup-1", NotAuthorised, "dispatcher or system"),
        (dispatcher(), CASE, InvalidCommand, "absorb itself"),
    ],
)
def test_only_the_merge_itself_makes_a_case_absorb_another(
    actor: object, merged: str, error: type[DomainError], words: str
) -> None:
    with pytest.raises(error, match=words):
        when(given(report()), cmd(c.AbsorbCase, actor, merged_case_id=merged))
    with pytest.raises(WrongStatus, match="needs an existing case"):
        when(None, cmd(c.AbsorbCase, dispatcher(), merged_case_id="dup-1"))


def test_reopening_within_the_window_is_a_new_cycle_counted_as_rework() -> None:
    state = given(report(), claim(), submit(), verify(True))
    at = local("2026-12-23 10:30")  # 29 days after closure
    after = fold(when(state, cmd(c.ReopenCase, reporter(), reason="又出现了"), at=at), state)
    assert after.status is CaseStatus.CLAIMED and after.rework_count == 1
    assert after.due_at == local("2026-12-23 14:30")


def test_reopening_after_the_window_is_refused() -> None:
    state = given(report(), claim(), submit(), verify(True))
    with pytest.raises(WindowClosed, match="30 days after closure"):
        when(state, cmd(c.ReopenCase, reporter(), reason="x"), at=state.closed_at + timedelta(days=31))


@pytest.mark.parametrize(
    "command",
    [
        lambda: claim(auditor()),
        lambda: cmd(c.RejectCase, auditor(), reason="x"),
        lambda: cmd(c.ReassignCase, auditor(), to_unit=DEPT, reason="x"),
        lambda: verify(True, auditor()),
    ],
)
def test_auditors_only_read(command) -> None:
    with pytest.raises(NotAuthorised, match="auditors only read"):
        when(given(report()), command())


def test_a_closed_case_accepts_only_reopen_and_feedback() -> None:
    state = given(report(), claim(), submit(), verify(True))
    refused = [
        claim(),
        dispute(),
        submit(),
        verify(True),
        cmd(c.RejectCase, dispatcher(), reason="x"),
        cmd(c.WithdrawCase, reporter(), reason="x"),
        cmd(c.ReassignCase, dispatcher(), to_unit=DEPT, reason="x"),
        cmd(c.UpholdDispatch, dispatcher(), reason="x"),
        cmd(c.MergeCase, dispatcher(), into_case_id="other", target_status=CaseStatus.CLAIMED),
    ]
    for command in refused:
        with pytest.raises(WrongStatus, match="closed"):
            when(state, command)
    assert types(when(state, cmd(c.ReopenCase, dispatcher(), reason="复查未通过"))) == ["case_reopened", "deadline_set"]
    assert types(when(state, cmd(c.RecordFeedback, dispatcher(), satisfied=True))) == ["feedback_recorded"]


def test_event_ids_derive_from_the_command_and_versions_follow_on() -> None:
    state = given(report(), claim())
    command = submit()
    first, again = when(state, command), when(state, command)
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert first[0].version == state.version + 1 and first[0].causation_id == command.command_id
    assert first[0].correlation_id == state.correlation_id


def test_every_refusal_names_the_case_and_its_status() -> None:
    state = given(report(), claim())
    for command in (claim(), verify(True), cmd(c.UpholdDispatch, dispatcher(), reason="x"), claim(unit(OTHER))):
        with pytest.raises(DomainError) as refused:
            when(state, command)
        assert CASE in str(refused.value) and "status claimed" in str(refused.value)
        assert f"[rule: {refused.value.rule}]" in str(refused.value)


def test_a_command_before_any_report_is_refused() -> None:
    with pytest.raises(WrongStatus, match="needs an existing case"):
        when(None, claim())


def test_resuming_records_why_and_events_from_before_that_read_back_unchanged() -> None:
    state = given(report(), cmd(c.RequestSuspension, unit(), reason="现场封闭"))
    state = fold(when(state, cmd(c.DecideSuspension, dispatcher(), approved=True, reason="同意")), state)
    [resumed, *_] = when(state, cmd(c.ResumeCase, dispatcher(), reason="围挡已拆除"), at=T0 + timedelta(hours=3))
    assert resumed.type == "case_resumed" and resumed.reason == "围挡已拆除"
    older = {k: v for k, v in event_body(resumed).items() if k != "reason"}  # as stored before reasons were kept
    assert event_body(parse_event(older)) == older
