"""Events of inspection points and rounds: what was checked, what failed, what a round did and missed.

A point's records live in its own stream (`pt-<point id>`), a round's in its own (`rd-<round id>`), in the same
store, with the same hash chains and seals as cases. The envelope is the case's (domain/event_base.py):
`case_id` holds the stream id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from rectify.domain.event_base import EventBase
from rectify.domain.types import EvidenceRef, Frozen, UtcDateTime


class ItemResult(Frozen):
    """One checklist item as found: passed, or failed with photos and a note."""

    item: Annotated[str, Field(min_length=1, max_length=60)]
    passed: bool
    evidence: tuple[EvidenceRef, ...] = ()
    note: str = ""


class PointInspected(EventBase):
    """检查记录: the point walked on a round, item by item."""

    type: Literal["point_inspected"] = "point_inspected"
    point_id: str
    round_id: str
    category: str
    results: tuple[ItemResult, ...]


class FailureCaseOpened(EventBase):
    """A failed item's case, opened through the intake and carrying this point's id."""

    type: Literal["failure_case_opened"] = "failure_case_opened"
    item: str
    case_id_opened: str
    round_id: str


PointEvent = Annotated[PointInspected | FailureCaseOpened, Field(discriminator="type")]


class PlannedPoint(Frozen):
    point_id: str
    name: str
    category: str


class RoundPlanned(EventBase):
    """A round: the points to walk, who walks them (an inspector unit, for the duty leader if one), by when."""

    type: Literal["round_planned"] = "round_planned"
    kind: str
    inspector_unit: str
    leader: str | None
    task_group: str | None
    points: tuple[PlannedPoint, ...]
    due_at: UtcDateTime


class RoundPointRecorded(EventBase):
    type: Literal["round_point_recorded"] = "round_point_recorded"
    point_id: str
    failed: tuple[str, ...]


class RoundCompleted(EventBase):
    type: Literal["round_completed"] = "round_completed"
    late: bool


class RoundMissed(EventBase):
    """The round's due time passed with points still to walk: a missed deadline."""

    type: Literal["round_missed"] = "round_missed"
    due_at: UtcDateTime
    unit: str
    remaining: tuple[str, ...]


class RoundEscalated(EventBase):
    """A rung of the ladder, reached `due_at` after the missed round (when the policy says rounds climb it)."""

    type: Literal["round_escalated"] = "round_escalated"
    level: int
    rung: str
    due_at: UtcDateTime
    unit: str
    points: float = 0.0


class RoundExpired(EventBase):
    """Closed unfinished, the policy's hours after the due time: the points not walked stay unchecked."""

    type: Literal["round_expired"] = "round_expired"
    remaining: tuple[str, ...]


RoundEvent = Annotated[
    RoundPlanned | RoundPointRecorded | RoundCompleted | RoundMissed | RoundEscalated | RoundExpired,
    Field(discriminator="type"),
]
POINT_EVENT_LIST_ADAPTER: TypeAdapter[list[PointEvent]] = TypeAdapter(list[PointEvent])
ROUND_EVENT_LIST_ADAPTER: TypeAdapter[list[RoundEvent]] = TypeAdapter(list[RoundEvent])
