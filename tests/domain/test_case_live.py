"""When anything can still happen to a case (and so its workflow runs, and `rectify recover` starts one)."""

from __future__ import annotations

from datetime import timedelta

from rectify.domain import commands as c
from rectify.domain.escalation import case_is_live, next_due
from tests.support.given import POLICY, T0, claim, cmd, dispatcher, given, report, reporter, submit, verify

STEP = timedelta(minutes=10)


def test_an_open_case_is_live_whatever_the_time() -> None:
    for state in (given(report()), given(report(), claim()), given(report(), claim(), submit())):
        assert case_is_live(state, POLICY, T0 + timedelta(days=400))


def test_a_withdrawn_case_is_not_live() -> None:
    state = given(report(), cmd(c.WithdrawCase, reporter(), reason="误报"))
    assert not case_is_live(state, POLICY, T0 + STEP)


def test_a_closed_case_is_live_within_its_reopen_window_and_while_a_moment_is_due() -> None:
    closed = given(report(), claim(), submit(), verify(True))
    window_end = closed.closed_at + timedelta(days=POLICY.reopen_window_days)
    assert case_is_live(closed, POLICY, window_end - timedelta(seconds=1))
    assert next_due(closed, POLICY) is not None  # the reporter's feedback (回访) is still due
    assert case_is_live(closed, POLICY, window_end)
    answered = given(
        report(), claim(), submit(), verify(True), cmd(c.RecordFeedback, dispatcher(), satisfied=True), step=STEP
    )
    assert next_due(answered, POLICY) is None
    assert case_is_live(answered, POLICY, window_end - timedelta(seconds=1))
    assert not case_is_live(answered, POLICY, window_end)
