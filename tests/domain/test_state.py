"""The case state is the fold of its events: what each fact sets, and the histories evolve refuses.

given(accepted commands) / then(state), on domain/state.py alone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain.state import evolve, fold
from rectify.domain.types import CaseStatus
from tests.support.given import CASE, T0, claim, given, photo, report, submit, when


def test_a_history_must_start_with_the_report() -> None:
    claimed = when(given(report()), claim())[0]
    with pytest.raises(ValueError, match=r"^a case history must start with case_reported, got case_claimed$"):
        evolve(None, claimed)


def test_a_case_is_reported_once() -> None:
    reported = when(None, report(), at=T0)
    with pytest.raises(ValueError, match=rf"^case {CASE} already reported$"):
        evolve(fold(reported), reported[0])


def test_the_state_keeps_what_the_report_said_and_when_it_last_changed() -> None:
    reported = when(None, report(evidence=(photo(),), media_url="https://example.org/p.jpg", address="北城天街"), at=T0)
    state = fold(reported)
    assert (state.evidence, state.media_url, state.address) == ((photo(),), "https://example.org/p.jpg", "北城天街")
    assert state.opened_at == state.updated_at == T0 and state.status is CaseStatus.DISPATCHED
    later = T0 + timedelta(hours=3)
    after = fold(when(state, claim(), at=later), state)
    assert after.updated_at == later and after.claimed_at == later and after.opened_at == T0
    submitted = fold(when(after, submit(), at=later + timedelta(hours=1)), after)
    assert submitted.evidence == (photo(), photo())  # the report's photo and the fix's


def test_every_prefix_of_a_history_folds_to_its_own_version_and_moment() -> None:
    """Point-in-time rebuilds (audit) fold a history cut anywhere: each event sets version and updated_at."""
    events = when(None, report(), at=T0) + when(given(report()), claim(), at=T0 + timedelta(hours=1))
    for n in range(1, len(events) + 1):
        state = fold(events[:n])
        assert (state.version, state.updated_at) == (n, events[n - 1].occurred_at)
    assert evolve(None, events[0]).updated_at == T0
    assert fold(events[:3]).dispatched_at == T0 and fold(events[:3]).lead_unit == "st_a"
