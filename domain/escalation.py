"""What is due when: which deadlines run in which status, and the escalation ladder's next rung.

Timers are derived from state, never kept beside it: the workflow sleeps until `next_due`, then
sends a Tick, and `due_items` says what came due, in the order it came due. After an outage a
single Tick therefore fires every overdue step once, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rectify.domain.deadlines import Stage, reopen_window_end, rung_moment
from rectify.domain.policy import Policy, Rung
from rectify.domain.state import CaseState
from rectify.domain.types import FINAL_STATUSES, CaseStatus

S = CaseStatus
#: A stage's clock runs only while the case is in one of these statuses.
ACTIVE_IN: dict[str, frozenset[CaseStatus]] = {
    Stage.DISPATCH: frozenset({S.REPORTED}),
    Stage.CLAIM: frozenset({S.DISPATCHED}),
    Stage.RECTIFY: frozenset({S.DISPATCHED, S.CLAIMED, S.DISPUTED}),
    Stage.VERIFY: frozenset({S.SUBMITTED}),
    Stage.FEEDBACK: frozenset({S.CLOSED}),
}


@dataclass(frozen=True, order=True)
class DueItem:
    """Something that came due: a missed stage deadline, or a rung of the ladder."""

    at: datetime
    rank: int  # a missed deadline before the rung reached at the same moment
    stage: str | None = None
    rung: Rung | None = None


def _ladder(state: CaseState, policy: Policy) -> tuple[datetime, list[tuple[datetime, Rung]]] | None:
    """The missed rectification deadline and the rungs still to climb, with their moments."""
    deadline = state.deadlines.get(Stage.RECTIFY)
    if deadline is None or state.status not in ACTIVE_IN[Stage.RECTIFY]:
        return None
    paused = timedelta(hours=state.ladder_paused_hours)
    rungs = [r for r in policy.ladder if r.level > state.escalation_level]
    return deadline.due_at, [(rung_moment(policy, deadline.due_at, r, paused), r) for r in rungs]


def due_items(state: CaseState, policy: Policy, now: datetime) -> list[DueItem]:
    """Everything due at or before `now` that has not fired yet, in the order it came due."""
    items: list[DueItem] = []
    for stage, deadline in state.deadlines.items():
        if not deadline.missed and state.status in ACTIVE_IN[stage] and deadline.due_at <= now:
            items.append(DueItem(deadline.due_at, 0, stage=stage))
    ladder = _ladder(state, policy)
    if ladder is not None:
        due, rungs = ladder
        if due <= now:
            items += [DueItem(moment, 1, rung=rung) for moment, rung in rungs if moment <= now]
    return sorted(items, key=lambda i: (i.at, i.rank, i.rung.level if i.rung else 0))


def next_due(state: CaseState | None, policy: Policy) -> datetime | None:
    """The next moment the case needs attention without a command, or None while nothing runs."""
    if state is None:
        return None
    moments = [d.due_at for stage, d in state.deadlines.items() if not d.missed and state.status in ACTIVE_IN[stage]]
    ladder = _ladder(state, policy)
    if ladder is not None and ladder[1]:
        moments.append(ladder[1][0][0])
    return min(moments) if moments else None


def case_is_live(state: CaseState, policy: Policy, now: datetime) -> bool:
    """Whether anything can still happen to the case: a command (it is open, or closed within its reopen
    window) or a moment falling due. Its workflow runs exactly while this holds."""
    if state.status in FINAL_STATUSES:
        return False
    if state.status is CaseStatus.CLOSED and state.closed_at is not None:
        return now < reopen_window_end(policy, state.closed_at) or next_due(state, policy) is not None
    return True
