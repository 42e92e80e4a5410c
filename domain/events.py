"""Events: what happened to a case, as recorded facts. A discriminated union on `type`.

Every event carries the same envelope (who, when, which case, which version, what caused it), and
its own payload fields. Events are never changed once written: a new fact is a new event.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from rectify.domain.event_base import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported: the envelope is named here too
from rectify.domain.event_base import EventBase as EventBase
from rectify.domain.inspection_events import (
    FailureCaseOpened,
    PointInspected,
    RoundCompleted,
    RoundEscalated,
    RoundExpired,
    RoundMissed,
    RoundPlanned,
    RoundPointRecorded,
)
from rectify.domain.types import Channel, EvidenceRef, Frozen, Point, Routing, UtcDateTime


class CaseReported(EventBase):
    type: Literal["case_reported"] = "case_reported"
    idempotency_key: str
    category: str
    description: str
    location: Point
    address: str | None = None
    channel: Channel
    evidence: tuple[EvidenceRef, ...] = ()
    #: A photo the reporter's app hosts elsewhere (Open311 media_url); kept as given, never fetched.
    media_url: str | None = None
    #: The inspection point whose failed checklist item opened this case (domain/inspection.py). Left out of the body
    #: when absent, as in events written before it was kept, so their stored bodies and hashes read back unchanged.
    point_id: str | None = Field(default=None, exclude_if=lambda value: value is None)


class CaseDispatched(EventBase):
    """派遣: the router names who is responsible; the deadlines follow as their own events."""

    type: Literal["case_dispatched"] = "case_dispatched"
    routing: Routing


class CaseRejected(EventBase):
    """不予立案: not accepted at intake."""

    type: Literal["case_rejected"] = "case_rejected"
    reason: str


class CaseClaimed(EventBase):
    """认领: the lead unit accepts the case and starts rectifying."""

    type: Literal["case_claimed"] = "case_claimed"


class CaseDisputed(EventBase):
    """退单: the lead unit returns the dispatch as not its responsibility."""

    type: Literal["case_disputed"] = "case_disputed"
    reason: str


class CaseReassigned(EventBase):
    """The dispatcher accepts the dispute (or corrects the routing) and names another lead unit."""

    type: Literal["case_reassigned"] = "case_reassigned"
    from_unit: str
    to_unit: str
    reason: str


class DispatchUpheld(EventBase):
    """The dispatcher refuses the dispute: the same unit stays responsible."""

    type: Literal["dispatch_upheld"] = "dispatch_upheld"
    reason: str


class RectificationSubmitted(EventBase):
    """The unit reports the problem fixed, with the photo (限时反馈办结照片) and a note."""

    type: Literal["rectification_submitted"] = "rectification_submitted"
    evidence: tuple[EvidenceRef, ...]
    note: str


class CaseClosed(EventBase):
    """核查结案: verification passed."""

    type: Literal["case_closed"] = "case_closed"
    note: str
    #: The inspector's photos, if any (none on older events).
    evidence: tuple[EvidenceRef, ...] = ()
    #: Working hours from the report to this closure on the case's own calendar (None on older events).
    working_hours: float | None = None


class ReworkOrdered(EventBase):
    """返工: verification failed, back to rectifying with a new deadline."""

    type: Literal["rework_ordered"] = "rework_ordered"
    note: str
    #: The inspector's photos of what is still wrong, if any (none on older events).
    evidence: tuple[EvidenceRef, ...] = ()


class CaseWithdrawn(EventBase):
    type: Literal["case_withdrawn"] = "case_withdrawn"
    reason: str


class DuplicateAttached(EventBase):
    """Another report of the same problem, within the category's radius and window: attached, not opened anew."""

    type: Literal["duplicate_attached"] = "duplicate_attached"
    idempotency_key: str
    description: str
    location: Point
    channel: Channel
    distance_m: float
    #: The inspection point a repeating failed item came from (left out when absent, as in earlier events).
    point_id: str | None = Field(default=None, exclude_if=lambda value: value is None)


class CaseMerged(EventBase):
    """A duplicate of another open case: this one ends, the other carries on."""

    type: Literal["case_merged"] = "case_merged"
    into_case_id: str


class CaseAbsorbed(EventBase):
    """The other side of a merge: `merged_case_id` was merged into this case, which carries it on."""

    type: Literal["case_absorbed"] = "case_absorbed"
    merged_case_id: str


class CaseReopened(EventBase):
    """The reporter is not satisfied or the problem came back: a new cycle, counted as rework."""

    type: Literal["case_reopened"] = "case_reopened"
    reason: str


class DeadlineSet(EventBase):
    """A stage's deadline, set or moved (dispatch, reassignment, rework, extension, resumption)."""

    type: Literal["deadline_set"] = "deadline_set"
    stage: str
    due_at: UtcDateTime
    #: True when the due moment lies in a year whose official holidays the calendar does not know.
    estimated: bool = False


class DeadlineMissed(EventBase):
    type: Literal["deadline_missed"] = "deadline_missed"
    stage: str
    due_at: UtcDateTime
    unit: str | None


class EscalationRaised(EventBase):
    """A rung of 一整改、二曝光、三扣分、四问责, reached at `due_at` after the missed rectification deadline."""

    type: Literal["escalation_raised"] = "escalation_raised"
    level: int
    rung: str
    due_at: UtcDateTime
    unit: str
    points: float = 0.0
    responsible_role: str | None = None


class ExtensionRequested(EventBase):
    type: Literal["extension_requested"] = "extension_requested"
    hours: float
    reason: str


class ExtensionGranted(EventBase):
    type: Literal["extension_granted"] = "extension_granted"
    hours: float
    reason: str


class ExtensionRefused(EventBase):
    type: Literal["extension_refused"] = "extension_refused"
    reason: str


class SuspensionRequested(EventBase):
    type: Literal["suspension_requested"] = "suspension_requested"
    reason: str


class CaseSuspended(EventBase):
    """挂起: approved; every clock stops."""

    type: Literal["case_suspended"] = "case_suspended"
    reason: str


class SuspensionRefused(EventBase):
    type: Literal["suspension_refused"] = "suspension_refused"
    reason: str


class CaseResumed(EventBase):
    """Clocks run again; deadlines not yet missed move by the suspended working time (as DeadlineSet)."""

    type: Literal["case_resumed"] = "case_resumed"
    paused_hours: float
    #: Why the clocks run again. Left out of the body when absent, as in events written before it was kept, so
    #: their stored bodies and hashes read back unchanged.
    reason: str | None = Field(default=None, exclude_if=lambda value: value is None)


class FeedbackRecorded(EventBase):
    """回访: the reporter was told the outcome and asked whether they are satisfied."""

    type: Literal["feedback_recorded"] = "feedback_recorded"
    satisfied: bool
    note: str


class MissedDeadline(Frozen):
    stage: str
    due_at: UtcDateTime


class ProceedingOpened(EventBase):
    """问责 referral: the stream id is the proceeding's; `subject_case_id` is the case that climbed the ladder."""

    type: Literal["proceeding_opened"] = "proceeding_opened"
    subject_case_id: str
    unit: str
    responsible_role: str | None
    missed: tuple[MissedDeadline, ...]
    evidence: tuple[EvidenceRef, ...] = ()
    explanation_due_at: UtcDateTime


class ExplanationSubmitted(EventBase):
    """说明: the unit's written explanation."""

    type: Literal["explanation_submitted"] = "explanation_submitted"
    text: str


class ExplanationMissed(EventBase):
    type: Literal["explanation_missed"] = "explanation_missed"
    due_at: UtcDateTime


class ProceedingDecided(EventBase):
    """The reviewer's decision: no fault, 约谈, 通报批评 or 移交纪检, with the points it costs the unit."""

    type: Literal["proceeding_decided"] = "proceeding_decided"
    outcome: str
    reason: str
    unit: str
    points: float


class ProceedingClosed(EventBase):
    type: Literal["proceeding_closed"] = "proceeding_closed"


ProceedingEvent = Annotated[
    ProceedingOpened | ExplanationSubmitted | ExplanationMissed | ProceedingDecided | ProceedingClosed,
    Field(discriminator="type"),
]


Event = Annotated[
    CaseReported
    | CaseDispatched
    | CaseRejected
    | CaseClaimed
    | CaseDisputed
    | CaseReassigned
    | DispatchUpheld
    | RectificationSubmitted
    | CaseClosed
    | ReworkOrdered
    | CaseWithdrawn
    | CaseMerged
    | CaseAbsorbed
    | DuplicateAttached
    | CaseReopened
    | DeadlineSet
    | DeadlineMissed
    | EscalationRaised
    | ExtensionRequested
    | ExtensionGranted
    | ExtensionRefused
    | SuspensionRequested
    | CaseSuspended
    | SuspensionRefused
    | CaseResumed
    | FeedbackRecorded,
    Field(discriminator="type"),
]

#: Anything the store holds: a case's events, an accountability proceeding's, an inspection point's or a round's.
StoredEvent = Annotated[
    Event
    | ProceedingOpened
    | ExplanationSubmitted
    | ExplanationMissed
    | ProceedingDecided
    | ProceedingClosed
    | PointInspected
    | FailureCaseOpened
    | RoundPlanned
    | RoundPointRecorded
    | RoundCompleted
    | RoundMissed
    | RoundEscalated
    | RoundExpired,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[StoredEvent] = TypeAdapter(StoredEvent)
EVENT_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
PROCEEDING_EVENT_LIST_ADAPTER: TypeAdapter[list[ProceedingEvent]] = TypeAdapter(list[ProceedingEvent])
#: Stream ids of accountability proceedings start so; every other stream is a case.
PROCEEDING_PREFIX = "acc-"


def event_body(event: StoredEvent) -> dict[str, Any]:
    """The event as plain JSON data: exactly what is stored and hashed."""
    return event.model_dump(mode="json")


def parse_event(body: dict[str, Any]) -> StoredEvent:
    return EVENT_ADAPTER.validate_python(body)
