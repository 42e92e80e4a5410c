"""Events: what happened to a case, as recorded facts. A discriminated union on `type`.

Every event carries the same envelope (who, when, which case, which version, what caused it), and
its own payload fields. Events are never changed once written: a new fact is a new event.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from rectify.domain.types import Actor, Channel, EvidenceRef, Frozen, Point, Routing, UtcDateTime

SCHEMA_VERSION = 1


class EventBase(Frozen):
    event_id: str
    case_id: str
    version: Annotated[int, Field(ge=1)]
    occurred_at: UtcDateTime
    actor: Actor
    #: The command (or timer) that produced this event, and the report the whole case descends from.
    causation_id: str
    correlation_id: str
    schema_version: int = SCHEMA_VERSION


class CaseReported(EventBase):
    type: Literal["case_reported"] = "case_reported"
    idempotency_key: str
    category: str
    description: str
    location: Point
    address: str | None = None
    channel: Channel
    evidence: tuple[EvidenceRef, ...] = ()


class CaseDispatched(EventBase):
    """派遣: the router (or a dispatcher) names who is responsible, and the rectification deadline."""

    type: Literal["case_dispatched"] = "case_dispatched"
    routing: Routing
    due_at: UtcDateTime


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
    due_at: UtcDateTime


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


class ReworkOrdered(EventBase):
    """返工: verification failed, back to rectifying with a new deadline."""

    type: Literal["rework_ordered"] = "rework_ordered"
    note: str
    due_at: UtcDateTime


class CaseWithdrawn(EventBase):
    type: Literal["case_withdrawn"] = "case_withdrawn"
    reason: str


class CaseMerged(EventBase):
    """A duplicate of another open case: this one ends, the other carries on."""

    type: Literal["case_merged"] = "case_merged"
    into_case_id: str


class CaseReopened(EventBase):
    """The reporter is not satisfied or the problem came back: a new cycle, counted as rework."""

    type: Literal["case_reopened"] = "case_reopened"
    reason: str
    due_at: UtcDateTime


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
    | CaseReopened,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def event_body(event: Event) -> dict:
    """The event as plain JSON data: exactly what is stored and hashed."""
    return event.model_dump(mode="json")


def parse_event(body: dict) -> Event:
    return EVENT_ADAPTER.validate_python(body)
