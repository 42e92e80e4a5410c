"""One model per workflow/activity input and output; everything pydantic, carried by the data converter."""

from __future__ import annotations

from rectify.domain.accountability import OpenProceeding, ProceedingState
from rectify.domain.commands import ReportCase
from rectify.domain.events import Event, ProceedingEvent
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState
from rectify.domain.types import Frozen

TASK_QUEUE = "rectify-cases"


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


class AppendEvents(Frozen):
    case_id: str
    expected_version: int
    events: list[Event]
    state_after: CaseState
    #: Run as a local activity: a retried workflow task decides again (at a later `workflow.now()`), so
    #: the store answers with what it already holds after `expected_version` instead of refusing.
    adopt: bool = False


class AppendOutcome(Frozen):
    last_position: int
    duplicate: bool
    #: With `adopt`: the case's events after `expected_version` as stored (the ones sent, once appended,
    #: or an earlier attempt's). Recorded in the local-activity marker, which the audit reads.
    stored: list[Event] | None = None
    #: The case's outbox was delivered in the same activity, so the workflow need not ask for it.
    delivered: bool = False


class ProceedingInput(Frozen):
    policy: Policy
    referral: OpenProceeding


class AppendProceedingEvents(Frozen):
    stream_id: str
    expected_version: int
    events: list[ProceedingEvent]
    state_after: ProceedingState


class ProceedingResult(Frozen):
    state: ProceedingState
    events: list[ProceedingEvent]
