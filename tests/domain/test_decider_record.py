"""What the decider writes down besides the status: who is recorded, what a report carries, and the exact
words of a refusal (the rule named, the case and its status), so an operator reads what went wrong.

given(accepted commands) / when(command) / then(events or error). Several of these were written to kill
mutants that `make mutate` found surviving (docs/testing.md).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.errors import (
    DomainError,
    InvalidCommand,
    NotAuthorised,
    UnknownCategory,
    WindowClosed,
    WrongStatus,
)
from rectify.domain.policy import Rung
from rectify.domain.state import CaseState, fold
from rectify.domain.types import SYSTEM_ACTOR, Actor, CaseStatus, Channel, Point, Role
from tests.support.given import (
    CASE,
    LEAD,
    OTHER,
    POLICY,
    T0,
    auditor,
    claim,
    cmd,
    dispatcher,
    given,
    given_at,
    inspector,
    local,
    photo,
    report,
    reporter,
    submit,
    tick,
    types,
    unit,
    verify,
    when,
)

S = CaseStatus


def refusal(state: CaseState | None, command: c.Command, error: type[DomainError], at=None) -> DomainError:
    with pytest.raises(error) as refused:
        when(state, command, at=at)
    return refused.value


CLOSED = given(report(), claim(), submit(), verify(True))


# -- who is recorded ----------------------------------------------------------------------------------


def test_deadlines_misses_and_rungs_are_recorded_as_the_systems_doing() -> None:
    reported = when(None, report(), at=T0)
    assert {e.actor for e in reported if e.type in {"deadline_set", "case_dispatched"}} == {SYSTEM_ACTOR}
    assert reported[0].actor == reporter()
    state = fold(reported)
    late = when(state, tick(), at=T0 + timedelta(days=14))
    assert {e.actor for e in late} == {SYSTEM_ACTOR} and len(late) == 6
    resumed = given_at(
        (T0, report()),
        (T0 + timedelta(minutes=10), cmd(c.RequestSuspension, unit(), reason="封闭")),
        (T0 + timedelta(minutes=20), cmd(c.DecideSuspension, dispatcher(), approved=True, reason="同意")),
    )
    events = when(resumed, cmd(c.ResumeCase, dispatcher(), reason="恢复"), at=T0 + timedelta(days=1))
    assert events[0].actor == dispatcher() and {e.actor for e in events[1:]} == {SYSTEM_ACTOR}
    extended = given(report(), claim(), cmd(c.RequestExtension, unit(), hours=1, reason="需协调"))
    granted = when(extended, cmd(c.DecideExtension, dispatcher(), granted=True, reason="同意"))
    assert [e.actor for e in granted] == [dispatcher(), SYSTEM_ACTOR]


def test_a_missed_deadline_names_the_lead_unit_only_for_its_own_stages() -> None:
    late = when(given(report()), tick(), at=T0 + timedelta(days=14))
    assert {(e.stage, e.unit) for e in late if e.type == "deadline_missed"} == {("claim", LEAD), ("rectify", LEAD)}
    unverified = given(report(), claim(), submit())
    missed = [e for e in when(unverified, tick(), at=T0 + timedelta(days=14)) if e.type == "deadline_missed"]
    assert [(e.stage, e.unit) for e in missed] == [("verify", None)]  # the inspectors' stage, not the unit's


def test_each_rung_carries_its_points_and_the_top_one_the_responsible_post() -> None:
    rungs = [e for e in when(given(report()), tick(), at=T0 + timedelta(days=14)) if e.type == "escalation_raised"]
    assert [(e.level, e.rung, e.points, e.unit) for e in rungs] == [
        (1, "催办", 0, LEAD),
        (2, "曝光", 0, LEAD),
        (3, "扣分", 2.0, LEAD),
        (4, "问责", 0, LEAD),
    ]
    assert [e.responsible_role for e in rungs] == [None, None, None, "主要负责人"]


# -- what a report carries ----------------------------------------------------------------------------


def test_a_report_carries_its_address_photo_and_link() -> None:
    command = report(
        address="建新北路1号",
        evidence=(photo(),),
        media_url="https://example.org/p.jpg",
        description="  人行道上有流动摊贩 \n",
    )
    reported = when(None, command, at=T0)[0]
    assert (reported.address, reported.evidence, reported.media_url) == (
        "建新北路1号",
        (photo(),),
        "https://example.org/p.jpg",
    )
    assert reported.description == "人行道上有流动摊贩" and reported.location == Point(lon=106.57, lat=29.6)
    assert fold([reported]).address == "建新北路1号"


@pytest.mark.parametrize("actor", [reporter(), dispatcher(), inspector(), unit(), SYSTEM_ACTOR])
def test_anyone_but_an_auditor_may_report(actor: Actor) -> None:
    assert types(when(None, report(actor=actor)))[0] == "case_reported"


def test_an_auditor_may_not_report() -> None:
    refused = refusal(None, report(actor=auditor()), NotAuthorised)
    assert (
        refused.message == "report may be done only by a reporter or dispatcher or inspector or unit or system; "
        "audit acts as auditor"
    )
    assert refused.case_id == CASE and refused.status is None


# -- the words of a refusal ---------------------------------------------------------------------------


def test_each_refusal_says_exactly_what_rule_was_not_met() -> None:
    cases = [
        (
            None,
            report(category="x_category"),
            UnknownCategory,
            "unknown category 'x_category'; known: illegal_structures, open_manhole, street_vending",
        ),
        (None, report(description=" "), InvalidCommand, "description is empty: say what the problem is"),
        (
            None,
            report(routing=None),
            InvalidCommand,
            "the report was not routed: intake must route (category, location) first",
        ),
        (None, report(case_id="made-up"), InvalidCommand, "case id does not match the idempotency key"),
        (given(report()), report(), WrongStatus, "the case is already reported"),
        (None, claim(), WrongStatus, "claim needs an existing case; none is reported"),
        (given(report()), claim(auditor()), NotAuthorised, "auditors only read"),
        (
            given(report(), claim(), cmd(c.RequestExtension, unit(), hours=1, reason="x")),
            cmd(c.RequestExtension, unit(), hours=1, reason="x"),
            WrongStatus,
            "an extension request is already pending",
        ),
        (
            given(report(), claim(), submit()),
            verify(True, unit()),
            NotAuthorised,
            f"verify may be done only by a inspector or dispatcher; {LEAD} acts as unit",
        ),
        (given(report()), claim(unit(OTHER)), NotAuthorised, f"only the lead unit {LEAD} may claim; {OTHER} is not it"),
        (
            given(report()),
            cmd(c.MergeCase, dispatcher(), into_case_id=CASE, target_status=S.CLAIMED),
            InvalidCommand,
            "a case cannot be merged into itself",
        ),
        (
            given(report()),
            cmd(c.MergeCase, dispatcher(), into_case_id="other-case"),
            WrongStatus,
            "merge needs an open target case; other-case was not found",
        ),
        (
            given(report()),
            cmd(c.MergeCase, unit(), into_case_id="other-case", target_status=S.CLAIMED),
            NotAuthorised,
            f"merge may be done only by a dispatcher; {LEAD} acts as unit",
        ),
        (
            given(report()),
            cmd(c.WithdrawCase, unit(), reason="x"),
            NotAuthorised,
            f"withdraw may be done only by a reporter or dispatcher; {LEAD} acts as unit",
        ),
        (
            given(report()),
            cmd(c.RejectCase, inspector(), reason="x"),
            NotAuthorised,
            "reject may be done only by a dispatcher; office_command acts as inspector",
        ),
        (
            CLOSED,
            cmd(c.ReopenCase, unit(), reason="x"),
            NotAuthorised,
            f"reopen may be done only by a reporter or dispatcher or inspector; {LEAD} acts as unit",
        ),
        (
            CLOSED,
            cmd(c.RecordFeedback, unit(), satisfied=True),
            NotAuthorised,
            f"record_feedback may be done only by a reporter or dispatcher or inspector; {LEAD} acts as unit",
        ),
        (
            fold(when(CLOSED, cmd(c.RecordFeedback, inspector(), satisfied=True)), CLOSED),
            cmd(c.RecordFeedback, dispatcher(), satisfied=False),
            WrongStatus,
            "feedback was already recorded",
        ),
        (
            given(report(), claim()),
            cmd(c.DecideExtension, dispatcher(), granted=True, reason="x"),
            WrongStatus,
            "no extension request is pending",
        ),
        (
            given(report(), claim(), cmd(c.RequestSuspension, unit(), reason="x")),
            cmd(c.RequestSuspension, dispatcher(), reason="x"),
            WrongStatus,
            "a suspension request is already pending",
        ),
        (
            given(report(), claim(), cmd(c.RequestSuspension, unit(), reason="x")),
            cmd(c.DecideSuspension, unit(), approved=True, reason="x"),
            NotAuthorised,
            f"decide_suspension may be done only by a dispatcher; {LEAD} acts as unit",
        ),
        (
            given(report(), claim()),
            cmd(c.DecideSuspension, dispatcher(), approved=True, reason="x"),
            WrongStatus,
            "no suspension request is pending",
        ),
    ]
    for state, command, error, message in cases:
        refused = refusal(state, command, error)
        assert refused.message == message
        assert refused.status == (state.status if state else None)
        assert refused.case_id == (None if state is None and command.type == "report" else CASE)
        assert f"[rule: {error.rule}]" in str(refused)


def test_an_inspector_may_reopen_and_record_feedback_and_a_dispatcher_may_withdraw() -> None:
    assert types(when(CLOSED, cmd(c.ReopenCase, inspector(), reason="复查未通过")))[0] == "case_reopened"
    assert types(when(CLOSED, cmd(c.RecordFeedback, inspector(), satisfied=True))) == ["feedback_recorded"]
    assert types(when(given(report()), cmd(c.WithdrawCase, dispatcher(), reason="重复"))) == ["case_withdrawn"]


def test_reopening_is_allowed_up_to_the_last_moment_of_the_window() -> None:
    window_end = CLOSED.closed_at + timedelta(days=30)
    assert types(when(CLOSED, cmd(c.ReopenCase, reporter(), reason="x"), at=window_end))[0] == "case_reopened"
    refused = refusal(
        CLOSED, cmd(c.ReopenCase, reporter(), reason="x"), WindowClosed, at=window_end + timedelta(microseconds=1)
    )
    assert refused.message == f"reopening is allowed until {window_end.isoformat()} (30 days after closure)"
    assert (refused.case_id, refused.status) == (CASE, "closed")


def test_a_duplicate_report_is_attached_with_what_it_said_and_where() -> None:
    attach = cmd(
        c.AttachDuplicate,
        reporter("citizen-2"),
        idempotency_key="report-2",
        description="又看到了",
        location=Point(lon=106.5701, lat=29.6001),
        channel=Channel.HOTLINE,
        distance_m=14.2,
    )
    events = when(given(report()), attach)
    assert types(events) == ["duplicate_attached"]
    e = events[0]
    assert (e.idempotency_key, e.description, e.location, e.channel, e.distance_m) == (
        "report-2",
        "又看到了",
        Point(lon=106.5701, lat=29.6001),
        Channel.HOTLINE,
        14.2,
    )
    assert fold(events, given(report())).duplicates == 1
    assert "point_id" not in e.model_dump() and fold(events, given(report())).point_id is None


def test_a_failed_item_repeating_an_open_case_puts_the_case_on_the_point_unless_it_answers_for_another() -> None:
    def attach(point_id: str) -> c.AttachDuplicate:
        return cmd(
            c.AttachDuplicate,
            Actor(unit_id="office_inspection", role=Role.INSPECTOR),
            idempotency_key=f"round/r-1/{point_id}/bins_ok",
            description="垃圾桶满溢",
            location=Point(lon=106.5701, lat=29.6001),
            channel=Channel.INSPECTION,
            distance_m=3.0,
            point_id=point_id,
        )

    first = when(given(report()), attach("p-market"))
    assert first[0].point_id == "p-market"
    on_point = fold(first, given(report()))
    assert on_point.point_id == "p-market"
    second = when(on_point, attach("p-alley"))
    assert second[0].point_id == "p-alley" and fold(second, on_point).point_id == "p-market"  # the first point stays


def test_a_command_for_another_case_is_refused_naming_both() -> None:
    state = given(report())
    refused = refusal(state, cmd(c.ClaimCase, unit(), case_id="another-case"), InvalidCommand)
    assert refused.message == "command is for case another-case"
    assert (refused.case_id, refused.status) == (CASE, "dispatched")


def test_a_refusal_before_any_report_names_the_case_asked_for() -> None:
    refused = refusal(None, cmd(c.ClaimCase, unit(), case_id="no-such-case"), WrongStatus)
    assert refused.case_id == "no-such-case" and refused.status is None


def test_a_role_refusal_names_the_status_the_case_is_in() -> None:
    refused = refusal(given(report(), claim(), submit()), verify(True, unit()), NotAuthorised)
    assert refused.status == "submitted" and "(status submitted)" in str(refused)


def test_closing_records_the_working_hours_from_report_to_closure() -> None:
    state = given_at((T0, report()), (local("2026-11-24 10:00"), claim()), (local("2026-11-24 16:00"), submit()))
    closed = when(state, verify(True), at=local("2026-11-25 09:30:20"))
    assert closed[0].working_hours == 7.0056  # Tue 09:30-12:00, 14:00-17:30, Wed 08:30-09:30:20, to 4 places
    assert closed[1].stage == "feedback" and closed[1].due_at == local("2026-11-26 09:30:20")


def test_decide_is_the_same_for_the_same_inputs() -> None:
    state, command = given(report()), claim()
    at = T0 + timedelta(hours=1)
    assert decide(state, command, at, POLICY) == decide(state, command, at, POLICY)


def test_rungs_due_at_the_same_moment_fire_in_ladder_order() -> None:
    ladder = (
        Rung(level=1, name="催办", after_hours=0),
        Rung(level=2, name="曝光", after_hours=7),
        Rung(level=3, name="扣分", after_hours=7, points=2.0),
    )
    same_day = POLICY.model_copy(update={"ladder": ladder})
    state = given(report(), policy=same_day)
    late = when(state, tick(), at=T0 + timedelta(days=3), policy=same_day)
    assert [(e.type, e.level if e.type == "escalation_raised" else e.stage) for e in late] == [
        ("deadline_missed", "claim"),
        ("deadline_missed", "rectify"),
        ("escalation_raised", 1),
        ("escalation_raised", 2),
        ("escalation_raised", 3),
    ]
    assert late[3].due_at == late[4].due_at == local("2026-11-25 11:30")


def test_an_intake_refusal_reads_without_a_case_or_status() -> None:
    refused = refusal(None, report(routing=None), InvalidCommand)
    assert str(refused) == (
        "intake: the report was not routed: intake must route (category, location) first [rule: invalid_command]"
    )
    assert (refused.case_id, refused.status) == (None, None)
    refused = refusal(given(report()), claim(auditor()), NotAuthorised)
    assert str(refused) == f"case {CASE} (status dispatched): auditors only read [rule: not_authorised]"


def test_a_timer_firing_under_another_system_name_still_records_the_system() -> None:
    timer = Actor(unit_id="scheduler", role=Role.SYSTEM)
    late = when(given(report()), cmd(c.Tick, timer), at=T0 + timedelta(days=14))
    assert len(late) == 6 and {e.actor for e in late} == {SYSTEM_ACTOR}
