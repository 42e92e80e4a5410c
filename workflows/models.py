"""Each workflow's input and output (the activities' are in activities/interface.py); pydantic throughout."""

from __future__ import annotations

from rectify.domain.accountability import OpenProceeding, ProceedingState
from rectify.domain.commands import ReportCase
from rectify.domain.events import Event, ProceedingEvent
from rectify.domain.inspection import InspectionPoint
from rectify.domain.inspection_events import PointEvent
from rectify.domain.policy import Policy
from rectify.domain.rounds import PlanRound, RoundKind, RoundState
from rectify.domain.state import CaseState
from rectify.domain.types import Frozen

#: The proceeding's workflow type: the case workflow starts it as a child by this name.
ACCOUNTABILITY_WORKFLOW = "AccountabilityWorkflow"


def workflow_id_for(case_id: str) -> str:
    return f"case-{case_id}"


class CaseWorkflowInput(Frozen):
    """Either a fresh report, or the folded state carried over by continue-as-new."""

    policy: Policy
    report: ReportCase | None = None
    carried: CaseState | None = None
    #: Continue-as-new once history reaches this many events (None: when Temporal suggests it).
    continue_as_new_after: int | None = None


class CaseOutcome(Frozen):
    case_id: str
    status: str
    version: int


class CommandResult(Frozen):
    state: CaseState
    events: list[Event]


class ProceedingInput(Frozen):
    """Either the referral that opens the proceeding, or its state folded from the store (`rectify recover`)."""

    policy: Policy
    referral: OpenProceeding | None = None
    carried: ProceedingState | None = None


class ProceedingResult(Frozen):
    state: ProceedingState
    events: list[ProceedingEvent]


class BulletinRequest(Frozen):
    #: ISO week like 2026-W47; None means the week before the one the workflow runs in.
    week: str | None = None


def round_workflow_id(stream: str) -> str:
    """A round's workflow id from its stream id (`rd-<round id>` → `round-<round id>`)."""
    return f"round-{stream.removeprefix('rd-')}"


class RoundInput(Frozen):
    """Either the plan that starts the round, or its state folded from the store with its points."""

    policy: Policy
    plan: PlanRound | None = None
    carried: RoundState | None = None
    points: tuple[InspectionPoint, ...] = ()


class RoundRecorded(Frozen):
    """The answer to a point's record: the round after it, the point's events, and the case each failed item opened."""

    state: RoundState
    point_events: list[PointEvent]
    cases: dict[str, str]


class PlannerInput(Frozen):
    kind: RoundKind
