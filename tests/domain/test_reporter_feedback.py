"""回访 from the reporter: once the case is closed, the reporter's own answer is recorded, once; before closure, or
a second time, it is refused with the rule named. given(accepted commands) / when(command) / then(events or error).
"""

from __future__ import annotations

import pytest

from rectify.domain import commands as c
from rectify.domain.errors import WrongStatus
from rectify.domain.events import FeedbackRecorded
from rectify.domain.state import fold
from rectify.domain.types import Role
from tests.support.given import claim, cmd, given, report, reporter, submit, verify, when

CLOSED = given(report(), claim(), submit(), verify(True))


def test_the_reporter_records_whether_they_are_satisfied_once_the_case_is_closed() -> None:
    events = when(CLOSED, cmd(c.RecordFeedback, reporter("public_web"), satisfied=False, note="摊贩晚上又回来了"))
    assert [type(e) for e in events] == [FeedbackRecorded]
    recorded = events[0]
    assert isinstance(recorded, FeedbackRecorded)
    assert (recorded.satisfied, recorded.note, recorded.actor.role) == (False, "摊贩晚上又回来了", Role.REPORTER)
    state = fold(events, CLOSED)
    assert state is not None and state.satisfied is False and state.feedback_at == recorded.occurred_at


def test_a_reporter_cannot_answer_before_the_case_is_closed() -> None:
    submitted = given(report(), claim(), submit())
    with pytest.raises(WrongStatus, match="record_feedback needs the case to be closed"):
        when(submitted, cmd(c.RecordFeedback, reporter("public_web"), satisfied=True))


def test_feedback_is_recorded_once_whoever_answers_second() -> None:
    answered = fold(when(CLOSED, cmd(c.RecordFeedback, reporter("public_web"), satisfied=True)), CLOSED)
    with pytest.raises(WrongStatus, match="feedback was already recorded"):
        when(answered, cmd(c.RecordFeedback, reporter("public_web"), satisfied=False))
