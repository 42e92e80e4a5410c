"""Read models as pure functions of the domain state: one definition used by append and by rebuild."""

from __future__ import annotations

from datetime import datetime

from rectify.domain.accountability import ProceedingState
from rectify.domain.office_queue import attention, office_clock
from rectify.domain.points import PointState
from rectify.domain.rounds import RoundState
from rectify.domain.state import CaseState
from rectify.domain.types import Frozen


class CaseRow(Frozen):
    """A row of the `cases` read model: what the case list and its filters need."""

    case_id: str
    status: str
    category: str
    description: str
    channel: str
    lead_unit: str | None
    territorial_unit: str | None
    grid_id: str | None
    road_chief: str | None
    guarantee_unit: str | None
    escalation_level: int
    due_at: datetime | None
    opened_at: datetime
    closed_at: datetime | None
    ended_at: datetime | None
    rework_count: int
    version: int
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    media_url: str | None = None
    updated_at: datetime | None = None
    duplicates: int = 0
    #: Why the dispatch office must act, leaving the clock aside (domain/office_queue.py), and the clock it watches.
    attention: str | None = None
    clock_stage: str | None = None
    clock_due_at: datetime | None = None
    #: Working hours of an extension request awaiting decision; a suspension request awaiting decision.
    extension_pending: float | None = None
    suspension_pending: bool = False
    #: The inspection point whose failed item opened the case (migration 0020).
    point_id: str | None = None


CASE_COLUMNS = tuple(CaseRow.model_fields)


def case_row(state: CaseState) -> CaseRow:
    routing = state.routing
    need = attention(state)
    clock = office_clock(state)
    return CaseRow(
        case_id=state.case_id,
        status=state.status.value,
        category=state.category,
        description=state.description[:200],
        channel=state.channel.value,
        lead_unit=state.lead_unit,
        territorial_unit=routing.territorial_unit if routing else None,
        grid_id=routing.grid_id if routing else None,
        road_chief=routing.road_chief if routing else None,
        guarantee_unit=routing.guarantee_unit if routing else None,
        escalation_level=state.escalation_level,
        due_at=state.due_at,
        opened_at=state.opened_at,
        closed_at=state.closed_at,
        ended_at=state.ended_at,
        rework_count=state.rework_count,
        version=state.version,
        lon=state.location.lon,
        lat=state.location.lat,
        address=state.address,
        media_url=state.media_url,
        updated_at=state.updated_at,
        duplicates=state.duplicates,
        attention=need.value if need else None,
        clock_stage=clock[0].value if clock else None,
        clock_due_at=clock[1].due_at if clock else None,
        extension_pending=state.extension_pending,
        suspension_pending=state.suspension_pending,
        point_id=state.point_id,
    )


class ProceedingRow(Frozen):
    """A row of the `proceedings` read model (问责)."""

    proceeding_id: str
    subject_case_id: str
    unit: str
    status: str
    outcome: str | None
    points: float
    opened_at: datetime
    explanation_due_at: datetime
    decided_at: datetime | None
    version: int


PROCEEDING_COLUMNS = tuple(ProceedingRow.model_fields)


def proceeding_row(state: ProceedingState) -> ProceedingRow:
    return ProceedingRow(
        proceeding_id=state.proceeding_id,
        subject_case_id=state.subject_case_id,
        unit=state.unit,
        status=state.status.value,
        outcome=state.outcome.value if state.outcome else None,
        points=state.points,
        opened_at=state.opened_at,
        explanation_due_at=state.explanation_due_at,
        decided_at=state.decided_at,
        version=state.version,
    )


class PointRow(Frozen):
    """A row of the `points` read model: what readiness needs besides the cases and the clock."""

    point_id: str
    category: str
    checks: int
    last_checked_at: datetime | None
    last_round_id: str | None
    last_inspector: str | None
    open_failures: int
    #: The failed items still open, their codes sorted and joined by commas ('' when none).
    failed_items: str
    cases_opened: int
    version: int


POINT_COLUMNS = tuple(PointRow.model_fields)


def point_row(state: PointState) -> PointRow:
    return PointRow(
        point_id=state.point_id,
        category=state.category,
        checks=state.checks,
        last_checked_at=state.last_checked_at,
        last_round_id=state.last_round_id,
        last_inspector=state.last_inspector,
        open_failures=len(state.open_failures),
        failed_items=",".join(sorted(state.open_failures)),
        cases_opened=len(state.cases),
        version=state.version,
    )


class RoundRow(Frozen):
    """A row of the `rounds` read model (巡查)."""

    round_id: str
    kind: str
    status: str
    inspector_unit: str
    leader: str | None
    task_group: str | None
    planned_at: datetime
    due_at: datetime
    points: int
    recorded: int
    failed: int
    missed: bool
    escalation_level: int
    ended_at: datetime | None
    version: int


ROUND_COLUMNS = tuple(RoundRow.model_fields)


def round_row(state: RoundState) -> RoundRow:
    return RoundRow(
        round_id=state.round_id,
        kind=state.kind.value,
        status=state.status.value,
        inspector_unit=state.inspector_unit,
        leader=state.leader,
        task_group=state.task_group,
        planned_at=state.planned_at,
        due_at=state.due_at,
        points=len(state.points),
        recorded=len(state.recorded),
        failed=sum(len(failed) for failed in state.recorded.values()),
        missed=state.missed,
        escalation_level=state.escalation_level,
        ended_at=state.ended_at,
        version=state.version,
    )


#: What a stream's state may be: a case's, a proceeding's, an inspection point's or a round's.
StreamState = CaseState | ProceedingState | PointState | RoundState
StreamRow = CaseRow | ProceedingRow | PointRow | RoundRow


def stream_row(state: StreamState) -> StreamRow:
    match state:
        case ProceedingState():
            return proceeding_row(state)
        case PointState():
            return point_row(state)
        case RoundState():
            return round_row(state)
        case CaseState():
            return case_row(state)
