"""The case as it stands: always `fold(evolve, events)`, never stored on its own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import assert_never

from rectify.domain.events import (
    CaseClaimed,
    CaseClosed,
    CaseDispatched,
    CaseDisputed,
    CaseMerged,
    CaseReassigned,
    CaseRejected,
    CaseReopened,
    CaseReported,
    CaseWithdrawn,
    DispatchUpheld,
    Event,
    RectificationSubmitted,
    ReworkOrdered,
)
from rectify.domain.types import CaseStatus, Channel, EvidenceRef, Frozen, Point, Routing


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
    due_at: datetime | None = None
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
    escalation_level: int = 0

    @property
    def territorial_unit(self) -> str | None:
        return self.routing.territorial_unit if self.routing else None

    @property
    def grid_id(self) -> str | None:
        return self.routing.grid_id if self.routing else None


def evolve(state: CaseState | None, event: Event) -> CaseState:
    """Apply one recorded fact. Pure and total over valid histories; no rule is checked here."""
    if state is None:
        if not isinstance(event, CaseReported):
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
        )
    changes: dict = {"version": event.version}
    match event:
        case CaseReported():
            raise ValueError(f"case {state.case_id} already reported")
        case CaseDispatched(routing=routing, due_at=due_at):
            changes |= {
                "status": CaseStatus.DISPATCHED,
                "routing": routing,
                "lead_unit": routing.lead_unit,
                "due_at": due_at,
                "dispatched_at": event.occurred_at,
            }
        case CaseRejected():
            changes |= {"status": CaseStatus.REJECTED, "ended_at": event.occurred_at, "due_at": None}
        case CaseClaimed():
            changes |= {"status": CaseStatus.CLAIMED, "claimed_at": event.occurred_at}
        case CaseDisputed(reason=reason):
            changes |= {"status": CaseStatus.DISPUTED, "dispute_reason": reason}
        case CaseReassigned(to_unit=to_unit, due_at=due_at):
            routing = state.routing.model_copy(update={"lead_unit": to_unit, "rule": "reassigned"})
            changes |= {
                "status": CaseStatus.DISPATCHED,
                "routing": routing,
                "lead_unit": to_unit,
                "due_at": due_at,
                "dispatched_at": event.occurred_at,
                "claimed_at": None,
                "dispute_reason": None,
                "reassign_count": state.reassign_count + 1,
            }
        case DispatchUpheld():
            changes |= {"status": CaseStatus.DISPATCHED, "dispute_reason": None}
        case RectificationSubmitted(evidence=evidence):
            changes |= {
                "status": CaseStatus.SUBMITTED,
                "submitted_at": event.occurred_at,
                "evidence": state.evidence + evidence,
            }
        case CaseClosed():
            changes |= {"status": CaseStatus.CLOSED, "closed_at": event.occurred_at}
        case ReworkOrdered(due_at=due_at) | CaseReopened(due_at=due_at):
            changes |= {
                "status": CaseStatus.CLAIMED,
                "due_at": due_at,
                "submitted_at": None,
                "closed_at": None,
                "rework_count": state.rework_count + 1,
            }
        case CaseWithdrawn():
            changes |= {"status": CaseStatus.WITHDRAWN, "ended_at": event.occurred_at, "due_at": None}
        case CaseMerged(into_case_id=into):
            changes |= {
                "status": CaseStatus.MERGED,
                "merged_into": into,
                "ended_at": event.occurred_at,
                "due_at": None,
            }
        case _:
            assert_never(event)
    return state.model_copy(update=changes)


def fold(events: Iterable[Event], state: CaseState | None = None) -> CaseState | None:
    for event in events:
        state = evolve(state, event)
    return state
