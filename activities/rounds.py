"""The round activities: a round's events, a point's record, the cases failed items open, the rounds to plan.

A point's stream has many writers (every round that walks it), so its appends are decided here against the stream
as stored and retried when another round got there first; a retried activity finds its own record by the command
that caused it and answers with it instead of writing it twice. Failed items open their cases through the intake
every report goes through (the SDK's, Open311's), handed in by the worker as `OpenCase`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rectify.activities.interface import (
    APPEND_ROUND_EVENTS,
    OPEN_FAILURE_CASES,
    PLAN_ROUNDS,
    RECORD_INSPECTION,
    AppendRoundEvents,
    FailureCasesOpened,
    FailureCasesTask,
    InspectionRecorded,
    PlanRoundsTask,
    RecordInspectionTask,
    RoundAppended,
    RoundsPlanned,
)
from rectify.domain.errors import DomainError
from rectify.domain.inspection import ChecklistItem, InspectionPoint, point_stream
from rectify.domain.inspection_events import POINT_EVENT_LIST_ADAPTER, ItemResult, PointEvent
from rectify.domain.points import LinkFailureCase, PointCommand, PointState, decide_point, fold_point
from rectify.domain.policy import Policy
from rectify.domain.round_plans import plan_rounds
from rectify.domain.types import SYSTEM_ACTOR
from rectify.store import ConcurrencyError, EventConflict, EventStore
from rectify.store.inspections import point_rows

log = structlog.get_logger("rectify.activities")

#: Opens (or joins) the case for one failed item and answers with its id: the worker builds it on the SDK's intake.
OpenCase = Callable[[InspectionPoint, ChecklistItem, ItemResult, str, str, datetime], Awaitable[str]]
#: Another round appending to the same point between our read and our write: read again, this many times.
POINT_ATTEMPTS = 8


class RoundActivities:
    def __init__(
        self,
        store: EventStore,
        policy: Policy,
        points: Mapping[str, InspectionPoint],
        open_case: OpenCase | None = None,
    ) -> None:
        self.store, self.policy, self.points, self.open_case = store, policy, points, open_case

    @activity.defn(name=APPEND_ROUND_EVENTS)
    async def append_round_events(self, request: AppendRoundEvents) -> RoundAppended:
        try:
            result = await self.store.append(
                request.stream_id, request.expected_version, request.events, request.state_after
            )
        except (ConcurrencyError, EventConflict) as error:
            raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from error
        return RoundAppended(last_position=result.last_position, duplicate=result.duplicate)

    @activity.defn(name=RECORD_INSPECTION)
    async def record_inspection(self, task: RecordInspectionTask) -> InspectionRecorded:
        """The round's events and the point's record in one transaction, the record decided on the point as stored."""
        command = task.inspection
        for _ in range(POINT_ATTEMPTS):
            stored = await self._point_events(command.case_id)
            if earlier := [e for e in stored if e.causation_id == command.command_id]:
                return InspectionRecorded(point_events=earlier)  # an earlier attempt wrote both streams
            state = fold_point(stored)
            events = self._decide(state, command, task.at)
            batch = [
                (task.round_stream, task.round_expected, task.round_events, task.round_after),
                (command.case_id, state.version if state else 0, events, fold_point(events, state)),
            ]
            try:
                await self.store.append_many(batch)  # type: ignore[arg-type]
            except ConcurrencyError as error:
                if error.case_id == command.case_id:
                    continue  # another round recorded this point meanwhile: decide again on its record
                raise ApplicationError(str(error), type="ConcurrencyError", non_retryable=True) from error
            except EventConflict as error:
                raise ApplicationError(str(error), type="EventConflict", non_retryable=True) from error
            return InspectionRecorded(point_events=events)
        raise ApplicationError(f"{command.case_id} kept moving", type="ConcurrencyError")  # retried by the budget

    @activity.defn(name=OPEN_FAILURE_CASES)
    async def open_failure_cases(self, task: FailureCasesTask) -> FailureCasesOpened:
        """Each failed item's case through the intake (idempotent by round, point and item), noted on the point."""
        if self.open_case is None:
            raise ApplicationError("this worker was given no intake to open cases with", non_retryable=True)
        category = self.policy.inspection.point_categories[task.point.category]
        opened: dict[str, str] = {}
        for failure in task.failures:
            item = category.item(failure.item)
            if item is None:
                raise ApplicationError(f"item {failure.item} is not on the checklist", non_retryable=True)
            case_id = await self.open_case(task.point, item, failure, task.round_id, task.inspector_unit, task.at)
            link = LinkFailureCase(
                command_id=f"link/{task.round_id}/{task.point.point_id}/{item.code}",
                case_id=point_stream(task.point.point_id),
                actor=SYSTEM_ACTOR,
                item=item.code,
                opened_case_id=case_id,
                round_id=task.round_id,
            )
            await self._append_point(link, task.at)
            opened[item.code] = case_id
            log.info("round.failure_case", point_id=task.point.point_id, item=item.code, case_id=case_id)
        return FailureCasesOpened(cases=opened)

    @activity.defn(name=PLAN_ROUNDS)
    async def plan_rounds(self, task: PlanRoundsTask) -> RoundsPlanned:
        rows = await point_rows(self.store.pool)
        checked = {point_id: row.last_checked_at for point_id, row in rows.items() if row.last_checked_at}
        plans = plan_rounds(task.kind, self.points.values(), self.policy, task.at, checked)
        return RoundsPlanned(policy=self.policy, plans=plans)

    async def _append_point(self, command: PointCommand, at: datetime) -> list[PointEvent]:
        for _ in range(POINT_ATTEMPTS):
            stored = await self._point_events(command.case_id)
            if earlier := [e for e in stored if e.causation_id == command.command_id]:
                return earlier
            state = fold_point(stored)
            events = self._decide(state, command, at)
            if not events:
                return events
            after = fold_point(events, state)
            assert after is not None  # (events is not empty)
            try:
                await self.store.append(command.case_id, state.version if state else 0, events, after)
            except ConcurrencyError:
                continue
            return events
        raise ApplicationError(f"{command.case_id} kept moving", type="ConcurrencyError")

    def _decide(self, state: PointState | None, command: PointCommand, at: datetime) -> list[PointEvent]:
        try:
            return decide_point(state, command, at, self.policy)
        except DomainError as error:
            raise ApplicationError(str(error), type="CommandRejected", non_retryable=True) from error

    async def _point_events(self, stream: str) -> list[PointEvent]:
        records = await self.store.load_records(stream)
        return POINT_EVENT_LIST_ADAPTER.validate_python([r.body for r in records])
