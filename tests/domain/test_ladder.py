"""The ladder 一整改、二曝光、三扣分、四问责 at the decider: what one tick fires, and who may tick.

The ladder on the time-skipping server, with a real worker, is in tests/workflows/test_escalation.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rectify.domain.commands import Tick
from rectify.domain.errors import NotAuthorised
from rectify.domain.state import fold
from rectify.domain.types import SYSTEM_ACTOR
from tests.support.given import T0, cmd, dispatcher, given, local, report, when

FORTNIGHT = timedelta(days=14)


def test_after_a_long_outage_one_tick_fires_every_overdue_step_once_in_order() -> None:
    """What the workflow's single wake-up does after downtime: the decider emits all that came due, in order.

    (On the time-skipping server a timer that fires with no worker locks time, so the outage itself is
    exercised here, at the decider, with the same Tick the workflow sends.)
    """
    state = given(report())  # Tuesday 09:30, rectify due 11:30
    late = when(state, cmd(Tick, SYSTEM_ACTOR), at=T0 + FORTNIGHT)
    assert [(e.type, getattr(e, "level", None) or e.stage) for e in late] == [
        ("deadline_missed", "claim"),
        ("deadline_missed", "rectify"),
        ("escalation_raised", 1),
        ("escalation_raised", 2),
        ("escalation_raised", 3),
        ("escalation_raised", 4),
    ]
    assert [e.due_at for e in late] == sorted(e.due_at for e in late)
    assert [e.due_at for e in late if e.type == "escalation_raised"] == [
        local("2026-11-24 11:30"),
        local("2026-11-25 11:30"),
        local("2026-11-27 11:30"),
        local("2026-12-01 11:30"),
    ]
    assert when(fold(late, state), cmd(Tick, SYSTEM_ACTOR), at=T0 + FORTNIGHT) == []  # each fires once


def test_only_the_system_ticks() -> None:
    with pytest.raises(NotAuthorised, match="only by a system"):
        when(given(report()), cmd(Tick, dispatcher()))
