"""An inspection point's record and readiness: given(records) / when(command) / then(events, state or error)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from rectify.domain.errors import InvalidCommand, NotAuthorised, UnknownCategory, WrongStatus
from rectify.domain.events import event_body, parse_event
from rectify.domain.inspection import route_failure
from rectify.domain.points import (
    CaseOnPoint,
    ItemAnswer,
    Readiness,
    Reason,
    RecordInspection,
    decide_point,
    readiness,
)
from rectify.domain.policy import Policy
from rectify.domain.types import Routing
from tests.support.given import DEPT, LEAD, OTHER, POLICY, T0, reporter
from tests.support.inspection import ALLEY, IPOLICY, MARKET, link, photo, point_after, record, walker

LATER = T0 + timedelta(days=1)


def test_a_record_keeps_every_item_and_opens_the_failed_ones() -> None:
    events = decide_point(None, record(MARKET, "bins_ok"), T0, IPOLICY)
    assert [e.type for e in events] == ["point_inspected"]
    inspected = events[0]
    assert inspected.case_id == "pt-p-market" and inspected.version == 1 and inspected.round_id == "r-1"
    assert [(r.item, r.passed) for r in inspected.results] == [("no_vending", True), ("bins_ok", False)]
    assert parse_event(event_body(inspected)) == inspected  # stored and read back as itself
    state = point_after((T0, record(MARKET, "bins_ok")))
    assert state is not None and state.checks == 1 and state.last_checked_at == T0
    assert list(state.open_failures) == ["bins_ok"] and state.open_failures["bins_ok"].since == T0


def test_a_failure_stays_open_until_a_later_record_passes_it() -> None:
    state = point_after((T0, record(MARKET, "bins_ok")), (LATER, record(MARKET, "bins_ok")))
    assert state is not None and state.open_failures["bins_ok"].since == T0  # still the first sighting
    state = point_after((T0, record(MARKET, "bins_ok")), (LATER, record(MARKET, "no_vending")), (LATER, record(MARKET)))
    assert state is not None and state.open_failures == {} and state.checks == 3


def test_the_case_a_failure_opened_is_linked_once() -> None:
    state = point_after((T0, record(MARKET, "bins_ok")), (T0, link(MARKET, "bins_ok", "case-9")))
    assert state is not None and state.cases == ("case-9",) and state.open_failures["bins_ok"].case_id == "case-9"
    assert decide_point(state, link(MARKET, "bins_ok", "case-9"), LATER, IPOLICY) == []  # a retried intake


@pytest.mark.parametrize(
    ("answers", "rule"),
    [
        ((ItemAnswer(item="no_vending", passed=True),), "of the checklist are not answered"),
        (
            (
                ItemAnswer(item="no_vending", passed=True),
                ItemAnswer(item="bins_ok", passed=True),
                ItemAnswer(item="ads_posted", passed=True),
            ),
            "not on the 农贸市场 checklist",
        ),
        (
            (
                ItemAnswer(item="no_vending", passed=True),
                ItemAnswer(item="no_vending", passed=False, evidence=(photo(),), note="x"),
                ItemAnswer(item="bins_ok", passed=True),
            ),
            "answered more than once",
        ),
        (
            (ItemAnswer(item="no_vending", passed=True), ItemAnswer(item="bins_ok", passed=False, note="满溢")),
            "a failure needs a photo and a note",
        ),
        (
            (
                ItemAnswer(item="no_vending", passed=True),
                ItemAnswer(item="bins_ok", passed=False, evidence=(photo(),), note="  "),
            ),
            "a failure needs a photo and a note",
        ),
    ],
)
def test_a_record_answers_the_checklist_exactly(answers: tuple[ItemAnswer, ...], rule: str) -> None:
    command = record(MARKET).model_copy(update={"answers": answers})
    with pytest.raises(InvalidCommand, match=rule):
        decide_point(None, command, T0, IPOLICY)


def test_only_an_inspector_records_and_only_the_system_links() -> None:
    with pytest.raises(NotAuthorised):
        decide_point(None, record(MARKET, actor=reporter()), T0, IPOLICY)
    with pytest.raises(WrongStatus):
        decide_point(None, link(MARKET, "bins_ok", "case-1"), T0, IPOLICY)
    state = point_after((T0, record(MARKET, "bins_ok")))
    with pytest.raises(NotAuthorised):
        decide_point(state, link(MARKET, "bins_ok", "case-1").model_copy(update={"actor": walker()}), T0, IPOLICY)


def test_a_record_goes_to_its_own_point_stream_and_a_known_point_category() -> None:
    with pytest.raises(InvalidCommand, match="its own stream"):
        decide_point(None, record(MARKET).model_copy(update={"case_id": "pt-p-alley"}), T0, IPOLICY)
    odd = MARKET.model_copy(update={"category": "stadium"})
    with pytest.raises(UnknownCategory, match="unknown point category 'stadium'"):
        decide_point(None, RecordInspection(**(record(MARKET).model_dump() | {"point": odd})), T0, IPOLICY)


def test_a_checklist_item_must_open_a_case_category_the_city_has() -> None:
    rules = IPOLICY.inspection.model_dump()
    rules["point_categories"]["back_alley"]["items"][0]["case_category"] = "no_such_category"
    with pytest.raises(ValidationError, match="opens unknown case category 'no_such_category'"):
        Policy(**(POLICY.model_dump() | {"inspection": rules}))


def test_readiness_green_amber_red() -> None:
    window = timedelta(days=IPOLICY.inspection.ready_window_days)
    assert readiness("p", None, [], T0, IPOLICY).reasons == (Reason.NEVER_CHECKED,)
    assert readiness("p", None, [], T0, IPOLICY).level is Readiness.STALE
    passed = point_after((T0, record(ALLEY)))
    assert readiness("p", passed, [], T0 + window, IPOLICY).level is Readiness.READY  # the window's last moment
    stale = readiness("p", passed, [], T0 + window + timedelta(seconds=1), IPOLICY)
    assert stale.level is Readiness.STALE and stale.reasons == (Reason.NOT_CHECKED_IN_WINDOW,)
    failed = point_after((T0, record(MARKET, "bins_ok")))
    assert readiness("p", failed, [], T0, IPOLICY).reasons == (Reason.FAILED_ITEM_OPEN,)
    assert readiness("p", failed, [], T0, IPOLICY).level is Readiness.NOT_READY


def test_an_overdue_case_on_the_point_makes_it_red_and_a_case_in_time_does_not() -> None:
    passed = point_after((T0, record(ALLEY)))
    in_time = CaseOnPoint(case_id="c1", open=True, due_at=T0 + timedelta(hours=2))
    assert readiness("p", passed, [in_time], T0 + timedelta(hours=1), IPOLICY).level is Readiness.READY
    late = readiness("p", passed, [in_time], T0 + timedelta(hours=3), IPOLICY)
    assert late.level is Readiness.NOT_READY and late.reasons == (Reason.OVERDUE_CASE,)
    closed = replace(in_time, open=False)
    assert readiness("p", passed, [closed], T0 + timedelta(hours=3), IPOLICY).level is Readiness.READY
    climbing = CaseOnPoint(case_id="c2", open=True, due_at=None, escalation_level=1)
    assert readiness("p", passed, [climbing], T0, IPOLICY).level is Readiness.NOT_READY


def test_a_failure_is_routed_to_the_points_own_units() -> None:
    territorial = Routing(lead_unit=LEAD, territorial_unit=LEAD, grid_id="g1", rule="territorial")
    routed = route_failure(territorial, MARKET)  # the market lies in OTHER's territory, adopted by DEPT
    assert (routed.lead_unit, routed.territorial_unit, routed.guarantee_unit) == (OTHER, OTHER, DEPT)
    assert routed.rule == "point:territorial"
    departmental = Routing(lead_unit=DEPT, territorial_unit=LEAD, grid_id="g1", rule="department")
    routed = route_failure(departmental, ALLEY)  # a department's category stays the department's
    assert (routed.lead_unit, routed.territorial_unit, routed.guarantee_unit) == (DEPT, LEAD, None)
