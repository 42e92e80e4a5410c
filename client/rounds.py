"""The SDK for inspection rounds: start one by hand, record a point of it, read rounds and the battle map.

A round runs as its own RoundWorkflow (workflows/round_workflow.py); a point's record is its `record` Update, so a
wrong record is refused before anything is written. A failed item opens its case through this same intake
(`open_failure_case`, which the worker hands to the round activities), routed to the point's units.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from rectify.client.errors import CaseNotFound, CommandRejected, from_failure, invalid, rejected
from rectify.client.intake import Intake
from rectify.client.temporal import update, why_not_opened
from rectify.domain.battle_map import BoardPoint
from rectify.domain.errors import DomainError
from rectify.domain.inspection import (
    ChecklistItem,
    InspectionPoint,
    failure_description,
    failure_key,
    round_stream,
)
from rectify.domain.inspection_events import ItemResult
from rectify.domain.points import ItemAnswer
from rectify.domain.rounds import PlanRound, RecordPoint, RoundKind, RoundState, decide_round
from rectify.domain.types import Actor, Channel, Role
from rectify.store import inspections
from rectify.store.projections import RoundRow
from rectify.workflows.models import RoundInput, RoundRecorded, round_workflow_id
from rectify.workflows.round_workflow import RoundWorkflow


class Rounds(Intake):
    async def start_round(
        self,
        *,
        point_ids: Sequence[str],
        actor: Actor,
        hours: float | None = None,
        kind: RoundKind = RoundKind.SPOT,
        round_id: str | None = None,
        leader: str | None = None,
        task_group: str | None = None,
        inspector_unit: str | None = None,
        at: datetime | None = None,
    ) -> RoundState:
        """Start a round by hand (专项巡查): these points, walked by `inspector_unit`'s inspectors (the policy's by
        default), due `hours` after `at` (the team round's hours by default). `at`: the moment it starts on the
        caller's clock, as for a report (default now; a simulation or a time-skipping test server passes its own).
        Refused, naming the rule, before it starts; the same `round_id` again answers with the round already
        started."""
        rules = self.city.policy.inspection
        stream = round_stream(round_id or f"spot-{uuid.uuid4().hex[:12]}")
        if unknown := [p for p in point_ids if p not in self.city.points]:
            raise CommandRejected(f"unknown points {unknown}", rule="invalid_command", case_id=stream)
        now = at or datetime.now(UTC)
        try:
            plan = PlanRound(
                command_id=f"plan/{stream}",
                case_id=stream,
                actor=actor,
                kind=kind,
                inspector_unit=inspector_unit or rules.rounds.inspector_unit,
                leader=leader,
                task_group=task_group,
                points=tuple(self.city.points[p] for p in point_ids),
                due_at=now + timedelta(hours=hours or rules.rounds.team_round_hours),
            )
            # Against the later of the caller's clock and this machine's: a round due before the server's clock
            # would end at once, before it was opened.
            decide_round(None, plan, max(now, datetime.now(UTC)), self.city.policy)
        except DomainError as error:
            raise rejected(error) from None
        except ValidationError as error:
            raise invalid(error, stream) from None
        handle = await self.temporal.start_workflow(
            RoundWorkflow.run,
            RoundInput(policy=self.city.policy, plan=plan),
            id=round_workflow_id(stream),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        try:
            return await update(handle, RoundWorkflow.opened, id=f"opened-{uuid.uuid4()}")
        except WorkflowUpdateFailedError as error:
            if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
                # it ended before it was opened: the server's clock refused the plan (due already passed)
                raise await why_not_opened(handle, stream) from None
            raise from_failure(error, stream) from None
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            raise await why_not_opened(handle, stream) from None  # it ended before the update reached it

    async def record_point(
        self,
        round_id: str,
        point_id: str,
        actor: Actor,
        answers: Sequence[ItemAnswer],
        *,
        command_id: str | None = None,
    ) -> RoundRecorded:
        """Record one point of a round, every checklist item answered; a failure with a photo and a note. The same
        `command_id` again (a phone resending a form kept while the signal was bad) is answered, not recorded twice."""
        stream = round_stream(round_id)
        try:
            command = RecordPoint(
                command_id=command_id or str(uuid.uuid4()),
                case_id=stream,
                actor=actor,
                point_id=point_id,
                answers=tuple(answers),
            )
        except ValidationError as error:
            raise invalid(error, stream) from None
        self._check_text(command)
        handle = self.temporal.get_workflow_handle(round_workflow_id(stream))
        try:
            return await update(
                handle, RoundWorkflow.record, command, id=f"record-{command.command_id}", result_type=RoundRecorded
            )
        except WorkflowUpdateFailedError as error:
            raise from_failure(error, stream) from None
        except Exception as error:
            if "not found" in str(error).lower():
                raise CaseNotFound(stream) from None
            raise

    async def round(self, round_id: str) -> RoundState:
        state = await inspections.round_state(self.store.pool, round_id)
        if state is None:
            raise CaseNotFound(round_stream(round_id))
        return state

    async def rounds(self, **filters: object) -> list[RoundRow]:
        return await inspections.round_rows(self.store.pool, **filters)  # type: ignore[arg-type]

    async def battle_map(self, at: datetime | None = None, point_ids: Sequence[str] | None = None) -> list[BoardPoint]:
        """Every point of the city (or those named: a point's page) with its readiness at `at`: by default now, or
        the record's last moment if that is later (a simulated city runs ahead of the clock: `make demo` plays the
        coming days)."""
        if at is None:
            latest = await self.store.latest_event_time()
            at = max(datetime.now(UTC), latest) if latest else datetime.now(UTC)
        points = self.city.points.values()
        return await inspections.battle_map(self.store.pool, points, self.city.policy, at, point_ids)

    async def open_failure_case(
        self,
        point: InspectionPoint,
        item: ChecklistItem,
        failure: ItemResult,
        round_id: str,
        inspector_unit: str,
        at: datetime | None = None,
    ) -> str:
        """The case for one failed checklist item, through the intake every report takes (the round activities'
        `OpenCase`): idempotent by round, point and item; routed to the point's units; carrying the point's id."""
        ref = await self.report(
            idempotency_key=failure_key(round_id, point.point_id, item.code),
            category=item.case_category,
            description=failure_description(point, item, failure.note),
            location=point.location,
            channel=Channel.INSPECTION,
            actor=Actor(unit_id=inspector_unit, role=Role.INSPECTOR),
            evidence=failure.evidence,
            at=at,  # the duplicate rule's window, on the round's clock
            point=point,
        )
        return ref.case_id
