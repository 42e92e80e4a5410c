"""What needs the dispatch office (指挥中心) and how urgent it is: the rules behind the office's queue.

A case needs the office for one reason at a time, the first of `NEEDS` that applies:

- dispute:  the lead unit returned the dispatch (退单); the office reassigns or upholds it;
- request:  an extension (延期) or a suspension (挂起) waits for the office's decision;
- unrouted: no lead unit yet, or one the router chose only as a fallback (a road-chief category away from every
  road), so the office dispatches it by hand or confirms the dispatch before the unit claims it;
- overdue:  the rectification deadline has passed while its clock runs (the rung says how far it climbed);
- claim:    dispatched and not yet claimed (认领);
- verify:   the unit submitted its fix; it waits for verification (核查).

Every reason except `overdue` follows from the case alone and is kept in the read model (`attention`);
`overdue` depends on the moment, so it is decided when the queue is read (`need_at`). The store builds its
query from the constants here (`BEFORE_OVERDUE`, `OVERDUE_STATUSES`), so the rule is written once.

Each case also has the clock the office watches while it stands where it stands (`office_clock`): the
dispatch deadline before dispatch, the claim deadline until it is claimed, the rectification deadline while
it is worked on, the verification deadline once submitted. The queue counts down on that clock, except for
an overdue case, which counts how long ago its rectification deadline passed. Most urgent first means the
earliest of those moments first.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from rectify.domain.deadlines import Stage
from rectify.domain.escalation import ACTIVE_IN
from rectify.domain.state import CaseState, Deadline
from rectify.domain.types import FALLBACK_RULE, OPEN_STATUSES, CaseStatus


class Need(StrEnum):
    DISPUTE = "dispute"
    REQUEST = "request"
    UNROUTED = "unrouted"
    OVERDUE = "overdue"
    CLAIM = "claim"
    VERIFY = "verify"


#: The reasons in the order they win when several apply.
NEEDS: tuple[Need, ...] = tuple(Need)
#: Reasons that stay the reason even when the case is overdue (the office must decide them first).
BEFORE_OVERDUE = frozenset({Need.DISPUTE, Need.REQUEST, Need.UNROUTED})
#: A case is overdue when its rectification deadline has passed in one of these statuses (its clock runs).
OVERDUE_STATUSES = ACTIVE_IN[Stage.RECTIFY]
#: The stage whose clock the office watches in each status; any other open status watches rectification.
_CLOCK_BY_STATUS = {
    CaseStatus.REPORTED: Stage.DISPATCH,
    CaseStatus.DISPATCHED: Stage.CLAIM,
    CaseStatus.SUBMITTED: Stage.VERIFY,
}


def attention(state: CaseState) -> Need | None:
    """Why the case needs the office, leaving the clock aside (None: it does not, or only once overdue)."""
    status = state.status
    if status not in OPEN_STATUSES:
        return None
    if status is CaseStatus.DISPUTED:
        return Need.DISPUTE
    # The office decides requests only while the rectification clock runs (the decider's rule too).
    if status in OVERDUE_STATUSES and (state.extension_pending is not None or state.suspension_pending):
        return Need.REQUEST
    if status is CaseStatus.REPORTED or state.lead_unit is None:
        return Need.UNROUTED
    fallback = state.routing is not None and state.routing.rule == FALLBACK_RULE
    if status is CaseStatus.DISPATCHED and fallback:
        return Need.UNROUTED
    if status is CaseStatus.DISPATCHED:
        return Need.CLAIM
    if status is CaseStatus.SUBMITTED:
        return Need.VERIFY
    return None


def need_at(standing: str | None, status: str, due_at: datetime | None, now: datetime) -> Need | None:
    """The reason at `now`, from what the read model keeps: `attention`, the status and the rectification due."""
    if standing is not None and Need(standing) in BEFORE_OVERDUE:
        return Need(standing)
    if status in OVERDUE_STATUSES and due_at is not None and due_at <= now:
        return Need.OVERDUE
    return Need(standing) if standing is not None else None


def office_clock(state: CaseState) -> tuple[Stage, Deadline] | None:
    """The deadline the office watches while the case stands in its status, or None when no clock runs."""
    if state.status not in OPEN_STATUSES or state.status is CaseStatus.SUSPENDED:
        return None
    stage = _CLOCK_BY_STATUS.get(state.status, Stage.RECTIFY)
    deadline = state.deadlines.get(stage)
    return (stage, deadline) if deadline is not None else None


def urgent_at(need: Need, due_at: datetime | None, clock_due_at: datetime | None) -> datetime | None:
    """The moment the queue sorts by: when the rectification deadline passed (overdue), else the office's clock."""
    return due_at if need is Need.OVERDUE else clock_due_at
