"""Deadlines on the clock (urgent categories) and past the calendar's known years (estimated).

given(accepted commands at their moments) / when(command) / then(events), on the decider alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rectify.domain import commands as c
from rectify.domain.calendar import WorkingCalendar
from rectify.domain.deadlines import Stage, add_time, stage_due
from rectify.domain.escalation import next_due
from rectify.domain.policy import StageLimits
from rectify.domain.state import Deadline, fold
from tests.support.given import (
    POLICY,
    claim,
    cmd,
    dispatcher,
    given_at,
    inspector,
    local,
    report,
    submit,
    tick,
    types,
    unit,
    verify,
    when,
)

URGENT = "open_manhole"  # 4 clock hours

#: A city whose calendar knows 2025 and 2026 only, as the State Council has not yet published 2027's.
KNOWS_2026 = POLICY.model_copy(update={"calendar": WorkingCalendar(known_years=frozenset({2025, 2026}))})


def deadlines_of(events: list) -> dict[str, tuple[object, bool]]:
    return {e.stage: (e.due_at, e.estimated) for e in events if e.type == "deadline_set"}


# -- clock hours ---------------------------------------------------------------------------------------


def test_an_urgent_category_counts_clock_hours_through_the_evening_and_its_other_stages_working_hours() -> None:
    events = when(None, report(category=URGENT), at=local("2026-11-27 16:00"))  # a Friday
    assert deadlines_of(events) == {
        "dispatch": (local("2026-11-27 17:00"), False),
        "claim": (local("2026-11-30 09:00"), False),  # 1.5 h on Friday, half an hour on Monday
        "rectify": (local("2026-11-27 20:00"), False),  # the same evening
    }


def test_an_urgent_deadline_is_missed_at_night_and_the_ladder_climbs_on_working_time() -> None:
    state = given_at((local("2026-11-27 16:00"), report(category=URGENT)))
    assert next_due(state, POLICY) == local("2026-11-27 20:00")
    late = when(state, tick(), at=local("2026-11-27 20:00"))
    assert [(e.type, getattr(e, "level", None), e.due_at) for e in late] == [
        ("deadline_missed", None, local("2026-11-27 20:00")),
        ("escalation_raised", 1, local("2026-11-27 20:00")),  # 催办 at once
    ]
    after = fold(late, state)
    assert next_due(after, POLICY) == local("2026-11-30 09:00")  # the claim deadline comes next
    monday = fold(when(after, tick(), at=local("2026-11-30 09:00")), after)
    assert next_due(monday, POLICY) == local("2026-11-30 17:30")  # 曝光: 7 working hours after Friday 20:00


def test_rework_of_an_urgent_case_is_due_in_clock_hours_and_its_verification_in_working_hours() -> None:
    state = given_at(
        (local("2026-11-27 16:00"), report(category=URGENT)),
        (local("2026-11-27 16:10"), claim()),
        (local("2026-11-27 18:00"), submit()),
    )
    assert state.deadlines["verify"].due_at == local("2026-11-30 17:30")  # 7 working hours from Monday
    events = when(state, verify(False), at=local("2026-11-28 10:00"))  # a Saturday
    assert types(events) == ["rework_ordered", "deadline_set"]
    assert fold(events, state).due_at == local("2026-11-28 14:00")


def test_a_clock_hour_deadline_is_never_estimated() -> None:
    events = when(None, report(category=URGENT), at=local("2026-12-31 22:00"), policy=KNOWS_2026)
    assert deadlines_of(events)["rectify"] == (local("2027-01-01 02:00"), False)
    assert add_time(KNOWS_2026, local("2027-03-01 10:00"), timedelta(hours=4), natural=True) == (
        local("2027-03-01 14:00"),
        False,
    )


# -- past the known years ------------------------------------------------------------------------------


def test_a_deadline_reaching_into_an_unknown_year_is_flagged_estimated() -> None:
    events = when(None, report(), at=local("2026-12-31 16:30"), policy=KNOWS_2026)
    assert deadlines_of(events) == {
        "dispatch": (local("2026-12-31 17:30"), False),  # still in 2026
        # New Year's Day is a weekday and 2027's holidays are unknown: counted as a working day, and flagged.
        "claim": (local("2027-01-01 09:30"), True),
        "rectify": (local("2027-01-01 09:30"), True),
    }
    state = fold(events)
    assert state.deadlines["rectify"].estimated and state.deadlines["claim"].estimated


def test_in_an_unknown_year_only_weekends_are_skipped_and_every_deadline_is_estimated() -> None:
    # Friday 5 Feb 2027, on the eve of the Spring Festival, whose holidays nobody knows yet.
    events = when(None, report(), at=local("2027-02-05 17:00"), policy=KNOWS_2026)
    assert deadlines_of(events) == {
        "dispatch": (local("2027-02-08 09:00"), True),
        "claim": (local("2027-02-08 10:00"), True),
        "rectify": (local("2027-02-08 10:00"), True),
    }


def test_the_same_deadline_in_a_known_year_is_not_estimated() -> None:
    events = when(None, report(), at=local("2026-11-27 17:00"), policy=KNOWS_2026)
    assert deadlines_of(events)["rectify"] == (local("2026-11-30 10:00"), False)


def test_an_extension_into_an_unknown_year_is_estimated() -> None:
    state = given_at(
        (local("2026-12-31 15:00"), report()),  # due 17:00
        (local("2026-12-31 15:10"), claim()),
        (local("2026-12-31 15:20"), cmd(c.RequestExtension, unit(), hours=1, reason="需协调")),
        policy=KNOWS_2026,
    )
    events = when(
        state,
        cmd(c.DecideExtension, dispatcher(), granted=True, reason="同意"),
        at=local("2026-12-31 15:30"),
        policy=KNOWS_2026,
    )
    assert deadlines_of(events) == {"rectify": (local("2027-01-01 09:00"), True)}
    assert fold(events, state).deadlines["rectify"].estimated


def test_a_resumption_into_an_unknown_year_is_estimated() -> None:
    state = given_at(
        (local("2026-12-30 09:30"), report()),  # due 11:30
        (local("2026-12-30 09:40"), cmd(c.RequestSuspension, unit(), reason="封闭")),
        (local("2026-12-30 10:30"), cmd(c.DecideSuspension, dispatcher(), approved=True, reason="同意")),
        policy=KNOWS_2026,
    )
    events = when(
        state, cmd(c.ResumeCase, dispatcher(), reason="恢复"), at=local("2027-01-04 09:30"), policy=KNOWS_2026
    )
    assert deadlines_of(events) == {
        "claim": (local("2027-01-04 10:30"), True),
        "rectify": (local("2027-01-04 10:30"), True),
    }


def test_rework_ordered_into_an_unknown_year_is_estimated() -> None:
    state = given_at(
        (local("2026-12-31 08:00"), report()),
        (local("2026-12-31 08:10"), claim()),
        (local("2026-12-31 08:30"), submit()),
        policy=KNOWS_2026,
    )
    assert state.deadlines["verify"] == Deadline(due_at=local("2026-12-31 17:30"))  # 7 h: the whole day, not estimated
    events = when(state, verify(False, inspector()), at=local("2026-12-31 17:00"), policy=KNOWS_2026)
    assert deadlines_of(events) == {"rectify": (local("2027-01-01 10:00"), True)}


def test_every_year_between_start_and_due_must_be_known() -> None:
    gap = WorkingCalendar(known_years=frozenset({2025, 2027}))
    assert not gap.knows(local("2025-12-31 09:00"), local("2027-01-04 09:00"))  # 2026 in between is unknown
    assert gap.knows(local("2027-01-04 09:00"), local("2027-12-31 09:00"))
    assert gap.knows(local("2025-01-02 09:00"), local("2025-01-02 09:00"))
    assert not gap.knows(local("2026-06-01 09:00"), local("2026-06-01 10:00"))
    assert not gap.knows(local("2027-12-31 17:00"), local("2028-01-03 09:00"))
    # Years are the city's: 23:00 UTC on 31 Dec 2026 is already 07:00 on New Year's Day in the city.
    new_year = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert not KNOWS_2026.calendar.knows(new_year, new_year)
    assert KNOWS_2026.calendar.knows(new_year - timedelta(hours=8), new_year - timedelta(hours=8))


def test_stage_due_takes_each_stages_own_limit_on_the_right_clock() -> None:
    distinct = POLICY.model_copy(
        update={"stages": StageLimits(dispatch_hours=1, claim_hours=2, verify_hours=3, feedback_hours=5)}
    )
    start = local("2026-11-27 16:00")  # Friday: 1.5 working hours left today
    assert stage_due(distinct, Stage.DISPATCH, URGENT, start) == (local("2026-11-27 17:00"), False)
    assert stage_due(distinct, Stage.CLAIM, URGENT, start) == (local("2026-11-30 09:00"), False)
    assert stage_due(distinct, Stage.RECTIFY, URGENT, start) == (local("2026-11-27 20:00"), False)
    assert stage_due(distinct, Stage.VERIFY, URGENT, start) == (local("2026-11-30 10:00"), False)
    assert stage_due(distinct, Stage.FEEDBACK, URGENT, start) == (local("2026-11-30 12:00"), False)
    assert stage_due(distinct, Stage.RECTIFY, "illegal_structures", start) == (local("2026-12-08 16:00"), False)


def test_the_calendar_reads_years_in_the_citys_zone_for_the_start_too() -> None:
    knows_2027_only = WorkingCalendar(known_years=frozenset({2025, 2027}))
    new_year = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)  # 07:00 on 1 Jan 2027 in the city
    assert knows_2027_only.knows(new_year, new_year + timedelta(hours=2))


def test_the_calendar_refuses_what_it_cannot_count_in_plain_words() -> None:
    with pytest.raises(ValueError, match=r"^working time to add must not be negative$"):
        POLICY.calendar.add_working_time(local("2026-11-24 09:00"), timedelta(minutes=-1))
    days = [date(2030, 1, 1) + timedelta(days=i) for i in range(366 * 11)]
    closed = WorkingCalendar(holidays=frozenset(days), known_years=frozenset(d.year for d in days))
    with pytest.raises(ValueError, match=r"^no working time found within ten years: the calendar has no working days$"):
        closed.add_working_time(local("2030-01-01 09:00"), timedelta(hours=1))
