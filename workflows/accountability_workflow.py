"""AccountabilityWorkflow (问责): a child of the case that reached the top rung, and outliving it if need be.

Referral → the unit's written explanation (due within the policy's working hours; missing it is
recorded) → a reviewer's decision → closed. Each step goes through `decide_proceeding` and is appended
to the proceeding's own stream; the decision's points count against the unit.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import rectify.workflows.calls as calls  # named in full, so passed through (case_workflow.py says why)
    from rectify.activities.interface import APPEND_PROCEEDING_EVENTS, AppendProceedingEvents, ProceedingAppended
    from rectify.domain.accountability import (
        ProceedingCommand,
        ProceedingState,
        ProceedingStatus,
        ProceedingTick,
        decide_proceeding,
        fold_proceeding,
        next_due,
    )
    from rectify.domain.errors import DomainError
    from rectify.domain.events import ProceedingEvent
    from rectify.domain.types import SYSTEM_ACTOR
    from rectify.workflows.models import ACCOUNTABILITY_WORKFLOW, ProceedingInput, ProceedingResult


@workflow.defn(name=ACCOUNTABILITY_WORKFLOW)
class AccountabilityWorkflow:
    @workflow.init
    def __init__(self, input: ProceedingInput) -> None:
        self._policy = input.policy
        self._state: ProceedingState | None = input.carried
        self._lock = asyncio.Lock()
        self._changed = False

    @workflow.run
    async def run(self, input: ProceedingInput) -> ProceedingState:
        referral = input.referral
        if self._state is None and referral is None:
            raise ApplicationError("a proceeding workflow needs a referral or a carried state", non_retryable=True)
        while self._state is None:
            assert referral is not None  # checked above
            try:
                async with self._lock:
                    await self._execute(referral)
            except calls.GAVE_UP as error:  # the store out of reach for a whole append budget: try again later
                if calls.unstorable(error) or calls.rejected(error):
                    raise
                await workflow.sleep(calls.RETRY_LATER)
        retry_at = None
        while self._state.status is not ProceedingStatus.CLOSED:
            due = next_due(self._state)
            if due is not None and retry_at is not None:
                due = max(due, retry_at)
            timeout = max(due - workflow.now(), timedelta(0)) if due else None
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            self._changed = False
            due = next_due(self._state)
            if due is not None and due <= workflow.now() and (retry_at is None or retry_at <= workflow.now()):
                async with self._lock:
                    tick = ProceedingTick(
                        command_id=str(workflow.uuid4()), case_id=self._state.proceeding_id, actor=SYSTEM_ACTOR
                    )
                    try:
                        await self._execute(tick)
                        retry_at = None
                    except calls.GAVE_UP as error:  # logged where it gave up
                        retry_at = workflow.now() + calls.RETRY_LATER
                        extra = {"proceeding_id": self._state.proceeding_id, "error": str(error)}
                        workflow.logger.error("proceeding.tick_failed", extra=extra)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @workflow.update(name="command")
    async def command(self, command: ProceedingCommand) -> ProceedingResult:
        async with self._lock:
            events = await self._execute(command)
            assert self._state is not None  # (the proceeding opened in `run` before any command is taken)
            return ProceedingResult(state=self._state, events=events)

    @command.validator
    def validate_command(self, command: ProceedingCommand) -> None:
        self._decide(command)

    @workflow.query(name="state")
    def state(self) -> ProceedingState | None:
        return self._state

    def _decide(self, command: ProceedingCommand) -> list[ProceedingEvent]:
        try:
            return decide_proceeding(self._state, command, workflow.now(), self._policy)
        except DomainError as error:
            raise calls.rejection(error) from None

    async def _execute(self, command: ProceedingCommand) -> list[ProceedingEvent]:
        events = self._decide(command)
        if not events:
            return events
        after = fold_proceeding(events, self._state)
        assert after is not None  # (events is not empty)
        expected = self._state.version if self._state else 0
        append = AppendProceedingEvents(
            stream_id=command.case_id, expected_version=expected, events=events, state_after=after
        )
        try:
            await calls.run(APPEND_PROCEEDING_EVENTS, append, budget=calls.APPEND, result_type=ProceedingAppended)
        except calls.GAVE_UP as error:
            if not calls.unstorable(error) or self._state is None:
                raise
            raise calls.refused_data(command.command_id, command.case_id, self._state.status) from None
        self._state = after
        self._changed = True
        return events
