"""The case as it stands: always `fold(evolve, events)`, never stored on its own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, assert_never, overload

from pydantic import Field

from rectify.domain import events as e
from rectify.domain.events import Event
from rectify.domain.types import CaseStatus, Channel, EvidenceRef, Frozen, Point, Routing


class Deadline(Frozen):
    due_at: datetime
    estimated: bool = False
    missed: bool = False


class CaseState(Frozen):
    case_id: str
    version: int
    status: CaseStatus
    idempotency_key: str
    correlation_id: str
    category: str
    description: str
    location: Point
    address: str | None = None
    channel: Channel
    opened_at: datetime
    routing: Routing | None = None
    lead_unit: str | None = None
    dispatched_at: datetime | None = None
    claimed_at: datetime | None = None
    submitted_at: datetime | None = None
    closed_at: datetime | None = None
    ended_at: datetime | None = None
    dispute_reason: str | None = None
    evidence: tuple[EvidenceRef, ...] = ()
    rework_count: int = 0
    reassign_count: int = 0
    merged_into: str | None = None
    #: Open deadlines by stage (see domain.deadlines.Stage).
    deadlines: dict[str, Deadline] = Field(default_factory=dict)
    escalation_level: int = 0
    #: Working hours the case spent suspended after its rectification deadline was missed (the ladder waits).
    ladder_paused_hours: float = 0.0
    extensions_granted: int = 0
    extension_hours: float = 0.0
    extension_pending: float | None = None
    suspension_pending: bool = False
    suspended_from: CaseStatus | None = None
    suspended_at: datetime | None = None
    feedback_at: datetime | None = None
    satisfied: bool | None = None
    media_url: str | None = None
    #: When the last event happened (Open311's updated_datetime).
    updated_at: datetime | None = None
    #: Reports of the same problem attached to this case instead of opening new ones.
    duplicates: int = 0
    #: Cases merged into this one (each recorded here by a case_absorbed event).
    absorbed: tuple[str, ...] = ()
    #: The inspection point whose failed item opened the case, if a round found it.
    point_id: str | None = None

    @property
    def due_at(self) -> datetime | None:
        """The rectification deadline (整改时限) of the current cycle."""
        deadline = self.deadlines.get("rectify")
        return deadline.due_at if deadline else None

    @property
    def territorial_unit(self) -> str | None:
        return self.routing.territorial_unit if self.routing else None

    @property
    def grid_id(self) -> str | None:
        return self.routing.grid_id if self.routing else None


def _without(deadlines: dict[str, Deadline], *stages: str) -> dict[str, Deadline]:
    return {stage: d for stage, d in deadlines.items() if stage not in stages}


def evolve(state: CaseState | None, event: Event) -> CaseState:
    """Apply one recorded fact. Pure and total over valid histories; no rule is checked here."""
    if state is None:
        if not isinstance(event, e.CaseReported):
            raise ValueError(f"a case history must start with case_reported, got {event.type}")
        return CaseState(
            case_id=event.case_id,
            version=event.version,
            status=CaseStatus.REPORTED,
            idempotency_key=event.idempotency_key,
            correlation_id=event.correlation_id,
            category=event.category,
            description=event.description,
            location=event.location,
            address=event.address,
            channel=event.channel,
            opened_at=event.occurred_at,
            evidence=event.evidence,
            media_url=event.media_url,
            updated_at=event.occurred_at,
            point_id=event.point_id,
        )
    at = event.occurred_at
    changes: dict[str, Any] = {"version": event.version, "updated_at": at}
    match event:
        case e.CaseReported():
            raise ValueError(f"case {state.case_id} already reported")
        case e.CaseDispatched(routing=routing):
            changes |= {
                "status": CaseStatus.DISPATCHED,
                "routing": routing,
                "lead_unit": routing.lead_unit,
                "dispatched_at": at,
                "deadlines": _without(state.deadlines, "dispatch"),
            }
        case e.DeadlineSet(stage=stage, due_at=due_at, estimated=estimated):
            changes["deadlines"] = state.deadlines | {stage: Deadline(due_at=due_at, estimated=estimated)}
            if stage == "rectify":
                changes["ladder_paused_hours"] = 0.0
        case e.DeadlineMissed(stage=stage):
            missed = state.deadlines[stage].replaced({"missed": True})
            changes["deadlines"] = state.deadlines | {stage: missed}
        case e.EscalationRaised(level=level):
            changes["escalation_level"] = level
        case e.CaseRejected() | e.CaseWithdrawn():
            status = CaseStatus.REJECTED if isinstance(event, e.CaseRejected) else CaseStatus.WITHDRAWN
            changes |= {"status": status, "ended_at": at, "deadlines": {}}
        case e.DuplicateAttached(point_id=point_id):
            changes["duplicates"] = state.duplicates + 1
            if state.point_id is None and point_id is not None:  # a point's failed item joined it: it answers there
                changes["point_id"] = point_id
        case e.CaseMerged(into_case_id=into):
            changes |= {"status": CaseStatus.MERGED, "merged_into": into, "ended_at": at, "deadlines": {}}
        case e.CaseAbsorbed(merged_case_id=merged):
            changes["absorbed"] = (*state.absorbed, merged)
        case e.CaseClaimed():
            changes |= {"status": CaseStatus.CLAIMED, "claimed_at": at, "deadlines": _without(state.deadlines, "claim")}
        case e.CaseDisputed(reason=reason):
            changes |= {"status": CaseStatus.DISPUTED, "dispute_reason": reason}
        case e.CaseReassigned(to_unit=to_unit):
            if state.routing is None:
                raise ValueError(f"case {state.case_id} reassigned before it was routed")
            changes |= {
                "status": CaseStatus.DISPATCHED,
                "routing": state.routing.model_copy(update={"lead_unit": to_unit, "rule": "reassigned"}),
                "lead_unit": to_unit,
                "dispatched_at": at,
                "claimed_at": None,
                "dispute_reason": None,
                "reassign_count": state.reassign_count + 1,
                "escalation_level": 0,
                "extension_pending": None,
            }
        case e.DispatchUpheld():
            changes |= {"status": CaseStatus.DISPATCHED, "dispute_reason": None}
        case e.RectificationSubmitted(evidence=evidence):
            changes |= {"status": CaseStatus.SUBMITTED, "submitted_at": at, "evidence": state.evidence + evidence}
        case e.CaseClosed():
            changes |= {
                "status": CaseStatus.CLOSED,
                "closed_at": at,
                "escalation_level": 0,
                "deadlines": _without(state.deadlines, "verify"),
            }
        case e.ReworkOrdered() | e.CaseReopened():
            changes |= {
                "status": CaseStatus.CLAIMED,
                "submitted_at": None,
                "closed_at": None,
                "feedback_at": None,
                "satisfied": None,
                "rework_count": state.rework_count + 1,
                "escalation_level": 0,
                "deadlines": _without(state.deadlines, "verify", "feedback"),
            }
        case e.ExtensionRequested(hours=hours):
            changes["extension_pending"] = hours
        case e.ExtensionGranted(hours=hours):
            changes |= {
                "extensions_granted": state.extensions_granted + 1,
                "extension_hours": state.extension_hours + hours,
                "extension_pending": None,
                "escalation_level": 0,
            }
        case e.ExtensionRefused():
            changes["extension_pending"] = None
        case e.SuspensionRequested():
            changes["suspension_pending"] = True
        case e.CaseSuspended():
            changes |= {
                "status": CaseStatus.SUSPENDED,
                "suspended_from": state.status,
                "suspended_at": at,
                "suspension_pending": False,
            }
        case e.SuspensionRefused():
            changes["suspension_pending"] = False
        case e.CaseResumed(paused_hours=paused):
            changes |= {
                "status": state.suspended_from,
                "suspended_from": None,
                "suspended_at": None,
                "ladder_paused_hours": state.ladder_paused_hours + paused,
            }
        case e.FeedbackRecorded(satisfied=satisfied):
            changes |= {"feedback_at": at, "satisfied": satisfied, "deadlines": _without(state.deadlines, "feedback")}
        case _:
            assert_never(event)
    return state.replaced(changes)


@overload
def fold(events: Iterable[Event], state: CaseState) -> CaseState: ...
@overload
def fold(events: Iterable[Event], state: CaseState | None = None) -> CaseState | None: ...
def fold(events: Iterable[Event], state: CaseState | None = None) -> CaseState | None:
    """The state after `events`, from `state` (a case, or None before its report: then None if there are none)."""
    for event in events:
        state = evolve(state, event)
    return state
