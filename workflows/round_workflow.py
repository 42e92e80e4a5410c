"""RoundWorkflow (巡查): one round, from its plan to its last point, its due time and its expiry.

Orchestration only. The plan is decided and appended first; then each point's record arrives as the `record`
Update, whose validator runs the round's decider and the point's checklist rule, so a wrong record never touches
the history. The handler appends the round's and the point's events together, then opens a case for each failed
item through the intake. The timer is derived from the state (`next_due`): the due time (a missed deadline), the
ladder's rungs where the policy says so, the expiry. RoundPlannerWorkflow is what the Schedules start: it asks
which rounds to plan now and starts one RoundWorkflow for each, its id derived from the round's.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    import rectify.workflows.calls as calls  # named in full, so passed through (case_workflow.py says why)
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
    from rectify.domain.inspection_events import RoundEvent
    from rectify.domain.points import check_answers
    from rectify.domain.rounds import (
        RecordPoint,
        RoundCommand,
        RoundState,
        RoundStatus,
        RoundTick,
        decide_round,
        fold_round,
        next_due,
        split_record,
    )
    from rectify.domain.types import SYSTEM_ACTOR
    from rectify.workflows.models import PlannerInput, RoundInput, RoundRecorded, round_workflow_id

ROUND_WORKFLOW = "RoundWorkflow"


@workflow.defn(name=ROUND_WORKFLOW)
class RoundWorkflow:
    @workflow.init
    def __init__(self, input: RoundInput) -> None:
        self._policy = input.policy
        self._state: RoundState | None = input.carried
        self._points = {p.point_id: p for p in (input.plan.points if input.plan else input.points)}
        self._lock = asyncio.Lock()
        self._changed = False

    @workflow.run
    async def run(self, input: RoundInput) -> RoundState:
        if self._state is None:
            if input.plan is None:
                raise ApplicationError("a round workflow needs a plan or a carried state", non_retryable=True)
            async with self._lock:
                await self._execute(input.plan)
        assert self._state is not None
        while self._state.status is RoundStatus.OPEN:
            due = next_due(self._state, self._policy)
            timeout = max(due - workflow.now(), timedelta(0)) if due else None
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            self._changed = False
            due = next_due(self._state, self._policy)
            if due is not None and due <= workflow.now():
                async with self._lock:
                    tick = RoundTick(command_id=str(workflow.uuid4()), case_id=self._stream, actor=SYSTEM_ACTOR)
                    try:
                        await self._execute(tick)
                    except calls.GAVE_UP as error:  # logged where it gave up; the next pass tries again
                        workflow.logger.error("round.tick_failed", extra={"stream": self._stream, "error": str(error)})
                        await workflow.sleep(calls.RETRY_LATER)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.update(name="record")
    async def record(self, command: RecordPoint) -> RoundRecorded:
        async with self._lock:
            on_round, on_point = split_record(command, self._points[command.point_id])
            events = self._decide(on_round)  # again, under the lock: another record may have come first
            after = fold_round(events, self._state)
            assert self._state is not None and after is not None
            task = RecordInspectionTask(
                round_stream=self._stream,
                round_expected=self._state.version,
                round_events=events,
                round_after=after,
                inspection=on_point,
                at=workflow.now(),
            )
            recorded: InspectionRecorded = await calls.run(
                RECORD_INSPECTION, task, budget=calls.APPEND, result_type=InspectionRecorded
            )
            self._state, self._changed = after, True
            failures = [r for e in recorded.point_events if e.type == "point_inspected" for r in e.results]
            failed = [r for r in failures if not r.passed]
            cases: dict[str, str] = {}
            if failed:
                opened: FailureCasesOpened = await calls.run(
                    OPEN_FAILURE_CASES,
                    FailureCasesTask(
                        point=self._points[command.point_id],
                        round_id=after.round_id,
                        inspector_unit=after.inspector_unit,
                        failures=failed,
                        at=workflow.now(),
                    ),
                    budget=calls.REPORTING,
                    result_type=FailureCasesOpened,
                )
                cases = opened.cases
            return RoundRecorded(state=after, point_events=recorded.point_events, cases=cases)

    @record.validator
    def validate_record(self, command: RecordPoint) -> None:
        point = self._points.get(command.point_id)
        if point is None:
            raise ApplicationError(
                f"point {command.point_id} is not on this round",
                {"rule": "invalid_command", "case_id": command.case_id},
                type="CommandRejected",
                non_retryable=True,
            )
        on_round, on_point = split_record(command, point)
        self._decide(on_round)
        try:
            check_answers(point, on_point.answers, self._policy, on_point.case_id)
        except DomainError as error:
            raise calls.rejection(error) from None

    @workflow.update(name="opened")
    async def opened(self) -> RoundState:
        """The round once its plan is recorded (the SDK waits on this after starting it)."""
        await workflow.wait_condition(lambda: self._state is not None)
        assert self._state is not None
        return self._state

    @workflow.query(name="state")
    def state(self) -> RoundState | None:
        return self._state

    @property
    def _stream(self) -> str:
        assert self._state is not None
        return f"rd-{self._state.round_id}"

    def _decide(self, command: RoundCommand) -> list[RoundEvent]:
        try:
            return decide_round(self._state, command, workflow.now(), self._policy)
        except DomainError as error:
            raise calls.rejection(error) from None

    async def _execute(self, command: RoundCommand) -> list[RoundEvent]:
        events = self._decide(command)
        if not events:
            return events
        after = fold_round(events, self._state)
        assert after is not None
        append = AppendRoundEvents(
            stream_id=command.case_id,
            expected_version=self._state.version if self._state else 0,
            events=events,
            state_after=after,
        )
        await calls.run(APPEND_ROUND_EVENTS, append, budget=calls.APPEND, result_type=RoundAppended)
        self._state, self._changed = after, True
        return events


@workflow.defn(name="RoundPlannerWorkflow")
class RoundPlannerWorkflow:
    """What a round Schedule starts: the rounds of its kind for now, each its own RoundWorkflow (abandoned by this
    one when it ends). A round already started (the Schedule fired twice) is left as it is."""

    @workflow.run
    async def run(self, input: PlannerInput) -> list[str]:
        task = PlanRoundsTask(kind=input.kind, at=workflow.now())
        planned: RoundsPlanned = await calls.run(PLAN_ROUNDS, task, budget=calls.REPORTING, result_type=RoundsPlanned)
        started: list[str] = []
        for plan in planned.plans:
            try:
                await workflow.start_child_workflow(
                    ROUND_WORKFLOW,
                    RoundInput(policy=planned.policy, plan=plan),
                    id=round_workflow_id(plan.case_id),
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                continue
            started.append(plan.case_id)
        return started
