"""CaseWorkflow: one durable workflow per rectification case. Orchestration only; rules live in domain/.

Commands arrive as the `command` update. Its validator runs `decide` on the current state, so an
invalid or unauthorised command is refused before it touches history; the handler takes the lock,
takes that decision (or decides again if the state or the moment moved since), appends the events through
a local activity and only then evolves the state.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    # Each helper named in full (`import a.b as b`, not `from a import b`): the sandbox passes through the module an
    # import statement names, and a submodule reached through `from rectify.workflows import ...` would be executed
    # again inside the sandbox for every new run of the workflow.
    import rectify.workflows.calls as calls
    import rectify.workflows.search as search
    from rectify.activities.interface import APPEND_EVENTS, AppendEvents, AppendOutcome
    from rectify.domain.accountability import referral_for
    from rectify.domain.commands import AbsorbCase, Command, ReportCase, Tick
    from rectify.domain.deadlines import reopen_window_end
    from rectify.domain.decider import decide
    from rectify.domain.errors import DomainError
    from rectify.domain.escalation import case_is_live, next_due
    from rectify.domain.events import CaseMerged, EscalationRaised, Event
    from rectify.domain.state import CaseState, fold
    from rectify.domain.text import check_text
    from rectify.domain.types import SYSTEM_ACTOR, CaseStatus
    from rectify.workflows.adopt import Adopted
    from rectify.workflows.models import (
        ACCOUNTABILITY_WORKFLOW,
        CaseOutcome,
        CaseWorkflowInput,
        CommandResult,
        ProceedingInput,
        workflow_id_for,
    )

ABSORB_SIGNAL = "absorb"
#: Patch (docs/workflow-changes.md): upsert only the search attributes an append changed.
UPSERT_CHANGED = "upsert-changed-attributes"


@workflow.defn
class CaseWorkflow:
    @workflow.init
    def __init__(self, input: CaseWorkflowInput) -> None:
        self._policy = input.policy
        self._state: CaseState | None = input.carried
        self._lock = asyncio.Lock()
        self._changed = False
        #: Commands whose events an earlier attempt of the current workflow task stored (workflows/adopt.py).
        self._adopted = Adopted()
        #: Why the report could not be recorded (the workflow then fails with it, and `opened` answers it).
        self._refused: BaseException | None = None
        #: After a tick's append gave up, the clock waits until then before it tries again.
        self._tick_retry_at: datetime | None = None
        #: The validator's decision (command id, version, time, events), which the handler takes when it runs on
        #: the same state at the same moment rather than deciding again. Validators do not run on replay, where
        #: the handler decides as it did: `decide` is deterministic.
        self._validated: tuple[str, int, datetime, list[Event]] | None = None
        #: `next_due` of a state (the loop asks for it twice per wake-up: whether to tick, and when to wake next).
        self._due: tuple[CaseState, datetime | None] | None = None

    @workflow.run
    async def run(self, input: CaseWorkflowInput) -> CaseOutcome:
        if self._state is None:
            if input.report is None:
                raise ApplicationError("a case workflow needs a report or a carried state", non_retryable=True)
            await self._open(input.report)
        while not self._finished():
            wake_at = self._wake_at()
            timeout = max(wake_at - workflow.now(), timedelta(0)) if wake_at else None
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._changed or self._should_continue(input), timeout=timeout)
            self._changed = False
            await self._tick()
            if self._should_continue(input) and not self._finished():
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._lock.locked())
                workflow.continue_as_new(
                    CaseWorkflowInput(
                        policy=self._policy, carried=self._state, continue_as_new_after=input.continue_as_new_after
                    )
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        state = self._case
        return CaseOutcome(case_id=state.case_id, status=state.status, version=state.version)

    @workflow.update(name="command")
    async def command(self, command: Command) -> CommandResult:
        if self._state is None:  # accepted while the report was still being recorded: decide once it is
            await self._wait_opened()
        async with self._lock:
            events = await self._execute(command)
            return CommandResult(state=self._case, events=events)

    @command.validator
    def validate_command(self, command: Command) -> None:
        if command.command_id in self._adopted:
            return
        if self._state is None:
            # The case is still opening (its first task may be running again after a worker died): a duplicate
            # report or a quick first command waits for it rather than being refused for an internal reason.
            self._check_text(command)
            return
        events = self._decide(command)
        self._validated = (command.command_id, self._state.version, workflow.now(), events)

    @workflow.update(name="opened")
    async def opened(self) -> CaseState:
        """Returns once the report is recorded: the reporter's answer to "is my case open?"."""
        return await self._wait_opened()

    async def _wait_opened(self) -> CaseState:
        await workflow.wait_condition(lambda: self._state is not None or self._refused is not None)
        if self._refused is not None and self._state is None:
            raise self._refused
        return self._case

    @property
    def _case(self) -> CaseState:
        """The case once its report is recorded: everything but opening it runs only after that."""
        assert self._state is not None, "the case is not open yet"
        return self._state

    @workflow.query(name="state")
    def state(self) -> CaseState | None:
        return self._state

    def _decide(self, command: Command) -> list[Event]:
        try:
            return decide(self._state, command, workflow.now(), self._policy)
        except DomainError as error:
            raise calls.rejection(error) from None

    def _decision(self, command: Command) -> list[Event]:
        """The validator's decision if it was taken on this state at this moment; else `decide` now."""
        validated, self._validated = self._validated, None
        if validated is not None and self._state is not None:
            command_id, version, at, events = validated
            if (command_id, version, at) == (command.command_id, self._state.version, workflow.now()):
                return events
        return self._decide(command)

    def _check_text(self, command: Command) -> None:
        try:
            check_text(command, self._policy.text_limits(), case_id=command.case_id)
        except DomainError as error:
            raise calls.rejection(error) from None

    async def _open(self, report: ReportCase) -> None:
        """Record the report. The store out of reach for a whole append budget: keep the report, try again."""
        while True:
            try:
                async with self._lock:
                    await self._execute(report)
                return
            except calls.GAVE_UP as error:
                if calls.unstorable(error):
                    self._refused = calls.refused_data(report.command_id, report.case_id, None)
                elif calls.rejected(error):
                    self._refused = error
                else:  # the store stayed out of reach for the append's whole budget
                    await workflow.sleep(calls.RETRY_LATER)
                    continue
            await workflow.wait_condition(workflow.all_handlers_finished)  # `opened` answers with the refusal
            raise self._refused

    async def _execute(self, command: Command) -> list[Event]:
        if (adopted := self._adopted.take(command.command_id)) is not None:
            return adopted  # an earlier attempt of this workflow task recorded it; it is folded already
        for _ in range(3):
            events = self._decision(command)
            if not events:
                return events
            expected = self._state.version if self._state else 0
            state_after = fold(events, self._state)
            assert state_after is not None  # (events is not empty)
            request = AppendEvents(
                case_id=command.case_id, expected_version=expected, events=events, state_after=state_after
            )
            try:
                outcome = await self._append(request)
            except calls.GAVE_UP as error:
                if not calls.unstorable(error) or self._state is None:
                    raise
                raise calls.refused_data(command.command_id, command.case_id, self._state.status) from None
            record, own = self._adopted.settle(command.command_id, outcome.stored)
            for group in record:
                # Newly appended, the store holds just the events sent: the state after them is folded already.
                await self._record(group, state_after if not outcome.duplicate else None)
            if own is not None:
                return own
            # The store held another command's events from an earlier attempt: they are folded now; decide again.
        raise ApplicationError(f"case {command.case_id}: the store kept moving ahead of the workflow", type="Stalled")

    async def _record(self, events: list[Event], folded: CaseState | None = None) -> None:
        """After `events` are stored (and their notices filed): fold them (unless `folded`, the state after them, is
        given), publish the state, refer for accountability, tell a merge target."""
        state_after = folded or fold(events, self._state)
        assert state_after is not None  # (events is not empty)
        self._state = state_after
        self._changed = True
        if workflow.patched(UPSERT_CHANGED):
            if changes := search.changes_for(state_after, workflow.info().typed_search_attributes):
                workflow.upsert_search_attributes(changes)
        else:  # histories recorded before the patch upserted every attribute, changed or not
            workflow.upsert_search_attributes(search.updates_for(state_after))
        await self._refer_for_accountability(events, state_after)
        await self._tell_merge_target(events)
        workflow.logger.info(
            "case.events_appended",
            extra={"case_id": state_after.case_id, "types": [e.type for e in events], "version": state_after.version},
        )

    async def _append(self, request: AppendEvents) -> AppendOutcome:
        """A local activity: it runs inside the workflow task (one task per command, not three) and files the
        case's notices in the same step. A retried task is answered with what the store holds (adopt.py)."""
        return await calls.run(APPEND_EVENTS, request, budget=calls.APPEND, result_type=AppendOutcome, local=True)

    async def _tell_merge_target(self, events: list[Event]) -> None:
        """A merge is recorded on both cases: the target's workflow is sent the command to record its side."""
        merged = next((e for e in events if isinstance(e, CaseMerged)), None)
        if merged is None:
            return
        absorb = AbsorbCase(
            command_id=f"absorb-{merged.event_id}",
            case_id=merged.into_case_id,
            actor=merged.actor,
            merged_case_id=merged.case_id,
        )
        target = workflow.get_external_workflow_handle(workflow_id_for(merged.into_case_id))
        try:
            await target.signal(ABSORB_SIGNAL, absorb)
        except FailureError as error:  # the target's workflow has ended: its store record stands as it is
            workflow.logger.error("case.merge_target_gone", extra={"case_id": merged.case_id, "error": str(error)})

    @workflow.signal(name=ABSORB_SIGNAL)
    async def absorb(self, command: AbsorbCase) -> None:
        """The other side of a merge into this case. A signal has no caller to answer, so a refusal is logged."""
        if self._state is None:
            await self._wait_opened()
        async with self._lock:
            try:
                await self._execute(command)
            except calls.GAVE_UP as error:
                extra = {"case_id": command.case_id, "merged_case_id": command.merged_case_id, "error": str(error)}
                workflow.logger.error("case.absorb_failed", extra=extra)

    async def _refer_for_accountability(self, events: list[Event], state: CaseState) -> None:
        """四问责: the top rung opens a proceeding as a child workflow that may outlive the case."""
        top = len(self._policy.ladder)
        reached = [e for e in events if isinstance(e, EscalationRaised) and e.level == top]
        if not reached:
            return
        referral = referral_for(state, reached[0].version, str(workflow.uuid4()))
        try:
            await workflow.start_child_workflow(
                ACCOUNTABILITY_WORKFLOW,
                ProceedingInput(policy=self._policy, referral=referral),
                id=referral.case_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:  # `rectify recover` opened it first (client/recover.py): one proceeding
            workflow.logger.info("case.proceeding_already_open", extra={"proceeding_id": referral.case_id})

    async def _tick(self) -> None:
        """When a due moment has passed, let the decider say what came due (misses, rungs), in order."""
        async with self._lock:
            state = self._case
            due = self._next_due()
            if due is None or due > workflow.now():
                return
            if self._tick_retry_at is not None and self._tick_retry_at > workflow.now():
                return
            tick = Tick(command_id=str(workflow.uuid4()), case_id=state.case_id, actor=SYSTEM_ACTOR)
            try:
                await self._execute(tick)
                self._tick_retry_at = None
            except calls.GAVE_UP as error:  # the give-up is logged; commands still work
                self._tick_retry_at = workflow.now() + calls.RETRY_LATER
                at = self._tick_retry_at.isoformat()
                extra = {"case_id": state.case_id, "error": str(error), "retry_at": at}
                workflow.logger.error("case.tick_failed", extra=extra)

    def _wake_at(self) -> datetime | None:
        """The next moment the case needs attention without a command: a deadline, a rung, the reopen window."""
        state = self._case
        due = self._next_due()
        if due is not None and self._tick_retry_at is not None:
            due = max(due, self._tick_retry_at)
        moments = [m for m in (due,) if m is not None]
        if state.status is CaseStatus.CLOSED and state.closed_at is not None:
            moments.append(reopen_window_end(self._policy, state.closed_at))
        return min(moments) if moments else None

    def _next_due(self) -> datetime | None:
        """`next_due` of the current state, worked out once per state (a pure function of it and the policy)."""
        state = self._case
        if self._due is None or self._due[0] is not state:
            self._due = (state, next_due(state, self._policy))
        return self._due[1]

    def _finished(self) -> bool:
        assert self._state is not None, "run() opens the case before it waits"
        return not case_is_live(self._state, self._policy, workflow.now())

    def _should_continue(self, input: CaseWorkflowInput) -> bool:
        info = workflow.info()
        if input.continue_as_new_after is not None:
            return info.get_current_history_length() >= input.continue_as_new_after
        return info.is_continue_as_new_suggested()


__all__ = ["CaseWorkflow", "ReportCase"]
