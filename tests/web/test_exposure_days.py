"""曝光台's days overdue, from a case's events: whole days begun from the missed rectification deadline to the unit's
submission of its fix, or to now while there is none; none when no deadline was missed."""

from __future__ import annotations

from datetime import datetime, timedelta

from rectify.domain.decider import decide
from rectify.domain.events import DeadlineMissed, Event
from rectify.domain.state import fold
from rectify.web.exposure import days_overdue
from tests.support.given import POLICY, T0, claim, report, submit, tick


def run(*steps: tuple[timedelta, object]) -> list[Event]:
    events: list[Event] = []
    state = None
    for after, command in steps:
        new = decide(state, command, T0 + after, POLICY)  # type: ignore[arg-type]
        events += new
        state = fold(new, state)
    return events


def missed_at(events: list[Event]) -> datetime:
    return next(e.due_at for e in events if isinstance(e, DeadlineMissed) and e.stage == "rectify")


def test_days_run_from_the_missed_deadline_to_the_fix_or_to_now() -> None:
    late = run((timedelta(0), report()), (timedelta(minutes=5), claim()), (timedelta(days=3), tick()))
    due = missed_at(late)
    assert days_overdue(late, due + timedelta(hours=1)) == 1  # a day begun
    assert days_overdue(late, due + timedelta(hours=49)) == 3
    fixed = run(
        (timedelta(0), report()),
        (timedelta(minutes=5), claim()),
        (timedelta(days=3), tick()),
        (timedelta(days=4), submit()),
    )
    submitted = next(e.occurred_at for e in fixed if e.type == "rectification_submitted")
    expected = -(-(submitted - due) // timedelta(days=1))
    assert days_overdue(fixed, due + timedelta(days=30)) == expected  # the fix stops the count, not today


def test_a_case_on_time_has_no_days_overdue() -> None:
    on_time = run((timedelta(0), report()), (timedelta(minutes=5), claim()), (timedelta(minutes=30), submit()))
    assert days_overdue(on_time, T0 + timedelta(days=30)) is None
