"""What a workflow may ask of the activities: each activity's name and its input and output models.

Workflows import this module (and domain/) only, so the workflow sandbox never loads the store, the file
system or a renderer; the implementations beside it (appends.py, checkpoints.py, audits.py, bulletins.py) import it
and are registered by the worker. Everything here is a pydantic model, carried by the data converter.
"""

from __future__ import annotations

from datetime import datetime

from rectify.domain.accountability import ProceedingState
from rectify.domain.bulletin import Bulletin
from rectify.domain.checkpoints import Checkpoint
from rectify.domain.events import Event, ProceedingEvent
from rectify.domain.inspection import InspectionPoint
from rectify.domain.inspection_events import ItemResult, PointEvent, RoundEvent
from rectify.domain.points import RecordInspection
from rectify.domain.policy import Policy
from rectify.domain.rounds import PlanRound, RoundKind, RoundState
from rectify.domain.state import CaseState
from rectify.domain.types import Frozen

# -- the event store (appends.py) ----------------------------------------------------------------------
#: Append a case's events and file its notices in the units' inboxes; the case workflow runs it as a local
#: activity, and it answers with the events the store holds (a retried workflow task's earlier decision).
APPEND_EVENTS = "rectify.append_events"
#: The same for an accountability proceeding's own stream (an ordinary activity).
APPEND_PROCEEDING_EVENTS = "rectify.append_proceeding_events"
#: The error type of an append the database refused for the data itself: no retry can store it.
UNSTORABLE = "UnstorableEvents"
#: The append's business failures: another writer got there first, or event ids stored with other content.
APPEND_NOT_RETRIED = ("ConcurrencyError", "EventConflict", UNSTORABLE)


class AppendEvents(Frozen):
    case_id: str
    expected_version: int
    events: list[Event]
    state_after: CaseState


class AppendOutcome(Frozen):
    last_position: int
    duplicate: bool
    #: The case's events after `expected_version` as stored: the ones sent, once appended, or an earlier
    #: attempt's of the same workflow task. Recorded in the local-activity marker, which the audit reads.
    stored: list[Event]


class AppendProceedingEvents(Frozen):
    stream_id: str
    expected_version: int
    events: list[ProceedingEvent]
    state_after: ProceedingState


class ProceedingAppended(Frozen):
    last_position: int
    duplicate: bool


# -- checkpoints (checkpoints.py) -----------------------------------------------------------------------
#: Take an audit checkpoint of the store now; returns the `Checkpoint`.
RECORD_CHECKPOINT = "rectify.record_checkpoint"

# -- the audit's Schedules (audits.py) --------------------------------------------------------------------
#: Verify the store (in full, or since the latest verified checkpoint) and, when every check passes, record a
#: verified checkpoint; returns a `VerifyOutcome`.
VERIFY_AND_RECORD = "rectify.verify_and_record"


class VerifyTask(Frozen):
    #: True: every event (the weekly Schedule); False: only what the latest verified checkpoint does not prove.
    full: bool = False


class VerifyOutcome(Frozen):
    ok: bool
    #: "full" or "incremental" (a store without a verified checkpoint is verified in full).
    scope: str
    #: The verified checkpoint an incremental verify built on.
    since: int | None = None
    #: Events whose chains were checked.
    events: int
    problems: int
    #: The first discrepancies, each as "check: where: problem".
    first_problems: tuple[str, ...] = ()
    #: The verified checkpoint recorded, if every check passed (None if another got further meanwhile).
    checkpoint: Checkpoint | None = None


# -- the weekly bulletin (bulletins.py) -----------------------------------------------------------------
#: Render a week's 督查通报 into the bulletin folder; returns the `Bulletin`.
ISSUE_BULLETIN = "rectify.issue_bulletin"


class BulletinTask(Frozen):
    """The week, or the moment to take "the week just ended" from (the workflow's clock, not the worker's)."""

    week: str | None
    issued_at: datetime


# -- inspection rounds (rounds.py) -----------------------------------------------------------------------
#: Append a round's own events (planned, missed, escalated, expired, completed).
APPEND_ROUND_EVENTS = "rectify.append_round_events"
#: Record one point of a round: the round's events and the point's record appended in one transaction.
RECORD_INSPECTION = "rectify.record_inspection"
#: Open a case for each failed item through the intake (the SDK's, Open311's), then note it on the point.
OPEN_FAILURE_CASES = "rectify.open_failure_cases"
#: The rounds a Schedule starts now, with their points from the city data.
PLAN_ROUNDS = "rectify.plan_rounds"


class AppendRoundEvents(Frozen):
    stream_id: str
    expected_version: int
    events: list[RoundEvent]
    state_after: RoundState


class RoundAppended(Frozen):
    last_position: int
    duplicate: bool


class RecordInspectionTask(Frozen):
    """The round's events for one point (decided by its workflow) and the point's record, to decide on its stream."""

    round_stream: str
    round_expected: int
    round_events: list[RoundEvent]
    round_after: RoundState
    inspection: RecordInspection
    #: The record's moment (the workflow's clock): the point's event and the round's share it.
    at: datetime


class InspectionRecorded(Frozen):
    #: The point's events as stored (this attempt's, or an earlier attempt's of the same record).
    point_events: list[PointEvent]


class FailureCasesTask(Frozen):
    point: InspectionPoint
    round_id: str
    inspector_unit: str
    failures: list[ItemResult]
    at: datetime


class FailureCasesOpened(Frozen):
    #: Item code → the case its failure opened (or joined, when the intake found it a duplicate).
    cases: dict[str, str]


class PlanRoundsTask(Frozen):
    kind: RoundKind
    at: datetime


class RoundsPlanned(Frozen):
    #: The policy in force, which the rounds carry (a Schedule's own input is fixed when it is created).
    policy: Policy
    plans: list[PlanRound]


__all__ = [
    "APPEND_EVENTS",
    "APPEND_NOT_RETRIED",
    "APPEND_PROCEEDING_EVENTS",
    "APPEND_ROUND_EVENTS",
    "ISSUE_BULLETIN",
    "OPEN_FAILURE_CASES",
    "PLAN_ROUNDS",
    "RECORD_CHECKPOINT",
    "RECORD_INSPECTION",
    "UNSTORABLE",
    "VERIFY_AND_RECORD",
    "AppendEvents",
    "AppendOutcome",
    "AppendProceedingEvents",
    "AppendRoundEvents",
    "Bulletin",
    "BulletinTask",
    "Checkpoint",
    "FailureCasesOpened",
    "FailureCasesTask",
    "InspectionRecorded",
    "PlanRoundsTask",
    "ProceedingAppended",
    "RecordInspectionTask",
    "RoundAppended",
    "RoundsPlanned",
    "VerifyOutcome",
    "VerifyTask",
]
