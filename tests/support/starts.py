"""Where the tests' simulations start: one setting, `RECTIFY_TEST_START` (YYYY-MM-DD), by default the coming Monday.

The tests read the environment here (library code never does). A simulation is a pure function of the
seed and the day index, so any start gives the same city wherever the calendar agrees; moving the start
shows what a holiday, a make-up working day (调休) or a year whose schedule is not yet known changes.
A test that needs a property of the calendar (no holiday in the way, a Monday for the week's bulletin)
derives its start from the configured one with the helpers below, from the city's own calendar.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import pytest

from rectify.domain.calendar import WorkingCalendar
from rectify.sim.run import next_monday

SETTING = "RECTIFY_TEST_START"
#: Days after a run's last one that must be as quiet as the run: deadlines set near its end reach past it.
MARGIN_DAYS = 14


def today(calendar: WorkingCalendar) -> date:
    return datetime.now(calendar.zone).date()


def configured_start(calendar: WorkingCalendar) -> date:
    """`RECTIFY_TEST_START`, or the coming Monday when it is not set."""
    text = os.environ.get(SETTING, "").strip()
    if not text:
        return next_monday(today(calendar))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(f"{SETTING}={text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-21") from None


def monday_on_or_after(day: date) -> date:
    return day + timedelta(days=-day.weekday() % 7)


def differs_from_weekdays(calendar: WorkingCalendar, day: date) -> bool:
    """A holiday or a make-up working day: where the calendar is not simply Monday to Friday."""
    return day in calendar.holidays or day in calendar.makeup_workdays


def quiet_start(calendar: WorkingCalendar, on_or_after: date, days: int) -> date:
    """The first Monday from `on_or_after` whose run (and a margin after it) has only plain weekdays and weekends.

    Years whose schedule the calendar does not know count as quiet: it keeps weekends only there (and
    flags every deadline reaching into them as estimated), so a run in them has nothing in the way.
    """
    start = monday_on_or_after(on_or_after)
    for _ in range(600):  # the known years end within a few years of any start; this only guards a bad calendar
        span = (start + timedelta(days=n) for n in range(days + MARGIN_DAYS))
        if not any(differs_from_weekdays(calendar, day) for day in span):
            return start
        start += timedelta(days=7)
    raise AssertionError(f"no quiet week within {600 // 52} years of {on_or_after}: is the calendar right?")


def future_start(calendar: WorkingCalendar, start: date) -> date:
    """`start`, after checking the time-skipping server can get there: its clock only moves forward from now."""
    if start <= today(calendar):
        pytest.fail(
            f"a simulation on the temporal engine must start after today ({today(calendar)}), not on {start}: "
            f"the time-skipping server's clock cannot go back; set {SETTING} to a later date or leave it unset"
        )
    return start
