"""The temporal engine: every step goes through the client SDK to the real worker and CaseWorkflow.

Runs on the time-skipping test server, so a simulated week passes in about a minute while every timer,
update, activity and append is the production code path. Deadlines fire inside the workflows; the
loop only waits for them to land in the store, then carries on from what was recorded.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import cast

from temporalio.testing import WorkflowEnvironment

from rectify.client import CommandRejected, RectifyClient
from rectify.domain import commands as c
from rectify.domain.accountability import (
    ProceedingCommand,
    ProceedingState,
    ProceedingTick,
    decide_proceeding,
    fold_proceeding,
    proceeding_id_for,
)
from rectify.domain.bulletin import Bulletin
from rectify.domain.decider import decide
from rectify.domain.events import EscalationRaised
from rectify.domain.rounds import PlanRound, RecordPoint, RoundState, RoundTick, decide_round, fold_round
from rectify.domain.state import CaseState, fold
from rectify.domain.types import SYSTEM_ACTOR
from rectify.sim.core import StepRefused, Stream
from rectify.sim.intake import PlannedReport
from rectify.workflows.bulletin_workflow import BulletinWorkflow
from rectify.workflows.models import BulletinRequest, RoundInput, round_workflow_id
from rectify.workflows.round_workflow import RoundWorkflow


class SimulationStalled(RuntimeError):
    """A workflow did not record what fell due: the worker is stuck or the server gave up."""


class TemporalEngine:
    name = "temporal"

    def __init__(self, env: WorkflowEnvironment, client: RectifyClient, *, wait_seconds: float = 60.0) -> None:
        self.env, self.client, self.store = env, client, client.store
        self.policy = client.city.policy
        self.wait_seconds = wait_seconds
        self._last_events: dict[str, list] = {}

    async def advance_to(self, at: datetime) -> None:
        now = await self.env.get_current_time()
        if at > now:
            await self.env.sleep(at - now)

    async def report(self, report: PlannedReport, at: datetime) -> CaseState:
        ref = await self.client.report(
            idempotency_key=report.key,
            category=report.category,
            description=report.description,
            location=report.location,
            channel=report.channel,
            actor=report.actor,
            at=at,  # the duplicate rule's window runs on the simulated clock
        )
        state = fold(await self.store.load_case(ref.case_id))
        if state is None:
            raise SimulationStalled(f"{ref.case_id}: reported, but nothing of it is in the store")
        return state

    async def execute(self, state: Stream, command: c.Command | ProceedingCommand, at: datetime) -> Stream:
        try:
            if isinstance(state, ProceedingState):
                result = await self.client.execute_proceeding(cast("ProceedingCommand", command))
            else:
                result = await self.client.execute(cast("c.Command", command))
        except CommandRejected as error:
            raise StepRefused(error.rule, str(error)) from None
        return result.state

    async def opened_proceedings(self, case: CaseState, at: datetime) -> list[ProceedingState]:
        """The case workflow opened a child for its top rung: wait until the proceeding's first events land."""
        top = len(self.policy.ladder)
        opened = []
        for event in self._last_events.pop(case.case_id, []):
            if isinstance(event, EscalationRaised) and event.level == top:
                stream = proceeding_id_for(case.case_id, event.version)
                events = await self._wait(stream, 1, at)
                opened.append(fold_proceeding(events))
                break
        return opened

    async def tick(self, state: Stream, at: datetime) -> Stream:
        """The workflow fires its own timer; wait until what fell due is in the store, then fold it in."""
        if isinstance(state, ProceedingState):
            probe = ProceedingTick(command_id="probe", case_id=state.proceeding_id, actor=SYSTEM_ACTOR)
            expected = state.version + len(decide_proceeding(state, probe, at, self.policy))
            new = [e for e in await self._wait(state.proceeding_id, expected, at) if e.version > state.version]
            return fold_proceeding(new, state)
        probe = c.Tick(command_id="probe", case_id=state.case_id, actor=SYSTEM_ACTOR)
        expected = state.version + len(decide(state, probe, at, self.policy))
        new = [e for e in await self._wait(state.case_id, expected, at) if e.version > state.version]
        self._last_events[state.case_id] = new
        return fold(new, state)

    # -- rounds: RoundWorkflow does the work; the loop waits for it to land in the store --------------------------
    async def plan_round(self, plan: PlanRound, at: datetime) -> RoundState:
        """Start the round as the Schedule's planner does, and wait for its plan in the store."""
        await self.client.temporal.start_workflow(
            RoundWorkflow.run,
            RoundInput(policy=self.policy, plan=plan),
            id=round_workflow_id(plan.case_id),
            task_queue=self.client.task_queue,
        )
        return cast("RoundState", fold_round(await self._wait(plan.case_id, 1, at)))

    async def record_round_point(
        self, state: RoundState, record: RecordPoint, at: datetime
    ) -> tuple[RoundState, list[CaseState]]:
        try:
            result = await self.client.record_point(
                state.round_id, record.point_id, record.actor, record.answers, command_id=record.command_id
            )
        except CommandRejected as error:
            raise StepRefused(error.rule, str(error)) from None
        cases = [fold(await self.store.load_case(case_id)) for case_id in dict.fromkeys(result.cases.values())]
        return result.state, [case for case in cases if case is not None]

    async def tick_round(self, state: RoundState, at: datetime) -> RoundState:
        """The round's workflow fires its own timer; wait until what fell due is in the store."""
        probe = RoundTick(command_id="probe", case_id=f"rd-{state.round_id}", actor=SYSTEM_ACTOR)
        expected = state.version + len(decide_round(state, probe, at, self.policy))
        stream = f"rd-{state.round_id}"
        new = [e for e in await self._wait(stream, expected, at) if e.version > state.version]
        return cast("RoundState", fold_round(new, state))

    async def _wait(self, stream: str, expected: int, at: datetime) -> list:
        """Every event of `stream` once it reaches version `expected`."""
        give_up = time.monotonic() + self.wait_seconds
        while True:
            head = await self.store.head(stream)
            if head and head[0] >= expected:
                return await self.store.load(stream)
            if time.monotonic() > give_up:
                raise SimulationStalled(
                    f"{stream}: the workflow did not record what fell due at {at.isoformat()} within "
                    f"{self.wait_seconds:.0f} s (store at version {head[0] if head else 0}, expected {expected})"
                )
            await asyncio.sleep(0.002)

    async def bulletin(self, week: str, at: datetime) -> Bulletin:
        """Start BulletinWorkflow, as the Monday 09:00 Schedule does in production, and wait for it.

        Waiting for a result would let the time-skipping server jump ahead to the next timer: not here.
        """
        with self.env.auto_time_skipping_disabled():
            return await self.client.temporal.execute_workflow(
                BulletinWorkflow.run,
                BulletinRequest(week=week),
                id=f"rectify-bulletin-{week}",
                task_queue=self.client.task_queue,
            )

    async def flush(self) -> None:
        """Appends happen inside the workflows; let the last notifications reach their inboxes before stopping."""
        give_up = time.monotonic() + self.wait_seconds
        while await self.store.undelivered() and time.monotonic() < give_up:
            await asyncio.sleep(0.05)
