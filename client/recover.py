"""Recovery: start the workflow of every case and proceeding that the store holds open but Temporal does not run.

After a Temporal cluster lost its persistence, after a move to another cluster, or after the demo (which ran on
the time-skipping server), the store still holds every case while no workflow runs them, and every command would
answer that the case has ended. Each such case starts again from the state folded from its events. Its timers are
derived from that state and the current time (domain/escalation.py `next_due`): a rung the store holds is never
raised again, one whose moment passed while nothing ran is raised once by the first tick, and later ones wait.

Passes: cases, open proceedings, top rungs whose proceeding never recorded its opening (the case workflow started
it a moment before the cluster was lost), open rounds (each RoundWorkflow from the round as its events leave it),
the round Schedules (created when the cluster has none), and the rounds of a Schedule's firing lost with the
cluster: its last firing planned nothing the store holds while the one before it did, so the planner ran here and
its last run was lost; its rounds still due are started as the planner starts them. Idempotent: a workflow that
runs is left alone, and each workflow id is taken once (a second recovery, or the case's own workflow, finds it
taken).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
from temporalio.client import ScheduleAlreadyRunningError, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from rectify.client.base import ClientCore
from rectify.client.errors import ServerUnavailable
from rectify.client.temporal import register_search_attributes
from rectify.domain.accountability import ProceedingStatus, fold_proceeding, proceeding_id_for, referral_for
from rectify.domain.escalation import case_is_live
from rectify.domain.round_plans import firings, plan_rounds
from rectify.domain.rounds import PlanRound, RoundKind, RoundStatus
from rectify.domain.state import fold
from rectify.domain.types import FINAL_STATUSES, CaseStatus
from rectify.store import inspections
from rectify.store import recovery as queries
from rectify.workflows import search
from rectify.workflows.accountability_workflow import AccountabilityWorkflow
from rectify.workflows.case_workflow import CaseWorkflow
from rectify.workflows.models import CaseWorkflowInput, ProceedingInput, RoundInput, round_workflow_id, workflow_id_for
from rectify.workflows.round_workflow import RoundWorkflow
from rectify.workflows.schedules import round_schedules

#: Workflows described or started at once.
CONCURRENCY = 16
#: Answers meaning the server itself is out of reach: recovery stops (exit 3) rather than marking cases failed.
_UNREACHABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})


class Outcome(StrEnum):
    STARTED = "started"  # no workflow ran it: started from the store's state
    RUNNING = "running"  # its workflow runs: left alone
    SETTLED = "settled"  # nothing can happen to it any more, so it needs no workflow
    ENDED = "ended"  # Temporal ended its workflow while the store holds it open: left alone unless asked
    FAILED = "failed"  # it could not be started; the detail says why


class Kind(StrEnum):
    CASE = "case"
    PROCEEDING = "proceeding"
    REFERRAL = "referral"  # a top rung whose proceeding has no events yet
    ROUND = "round"
    SCHEDULE = "schedule"  # a round Schedule: started means created
    PLAN = "plan"  # a round of a Schedule's firing lost with the cluster


@dataclass(frozen=True)
class Recovered:
    kind: Kind
    id: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class Recovery:
    items: list[Recovered]

    @property
    def ok(self) -> bool:
        return not any(i.outcome is Outcome.FAILED for i in self.items)

    def count(self, kind: Kind, outcome: Outcome) -> int:
        return sum(1 for i in self.items if i.kind is kind and i.outcome is outcome)

    def counts(self) -> dict[str, dict[str, int]]:
        return {k.value: {o.value: self.count(k, o) for o in Outcome} for k in Kind}

    def listed(self, outcome: Outcome) -> list[dict[str, str]]:
        return [{"kind": i.kind.value, "id": i.id, "detail": i.detail} for i in self.items if i.outcome is outcome]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": self.counts(),
            "started": self.listed(Outcome.STARTED),
            "ended": self.listed(Outcome.ENDED),
            "failed": self.listed(Outcome.FAILED),
        }


#: Told after each item: which pass ("cases", "proceedings", "referrals", "rounds", "schedules", "plans"), how many
#: are done, how many in all.
Progress = Callable[[str, int, int], None]


async def recover(
    client: ClientCore, *, restart_ended: bool = False, progress: Progress | None = None, now: datetime | None = None
) -> Recovery:
    """Start what the store holds open and Temporal does not run. `restart_ended`: also start again what Temporal
    ended (failed, terminated, timed out …) while the store holds it open; by default that is only reported."""
    run = _Run(client, restart_ended, now or datetime.now(UTC))
    try:
        await register_search_attributes(client.temporal)  # a new cluster knows none; upserting one would hang
        return await run.all(progress)
    except RPCError as error:
        if error.status in _UNREACHABLE:
            raise ServerUnavailable(f"Temporal could not be reached: {error.message}") from error
        raise
    except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as error:
        raise ServerUnavailable(f"PostgreSQL could not be reached: {error}") from error


class _Run:
    def __init__(self, client: ClientCore, restart_ended: bool, now: datetime) -> None:
        self.client, self.restart_ended, self.now = client, restart_ended, now
        self.policy = client.city.policy
        self.pool = client.store.pool

    async def all(self, progress: Progress | None) -> Recovery:
        window = timedelta(days=self.policy.reopen_window_days)
        final = [s.value for s in FINAL_STATUSES]
        cases = await queries.live_case_ids(self.pool, final, CaseStatus.CLOSED.value, self.now - window)
        items = await _each("cases", Kind.CASE, cases, self.case, progress)
        proceedings = await queries.open_proceeding_ids(self.pool, ProceedingStatus.CLOSED.value)
        items += await _each("proceedings", Kind.PROCEEDING, proceedings, self.proceeding, progress)
        rungs = await queries.rungs_reached(self.pool, len(self.policy.ladder))
        have = await queries.streams_present(self.pool, [proceeding_id_for(c, v) for c, v in rungs])
        unopened = [(c, v) for c, v in rungs if proceeding_id_for(c, v) not in have]
        items += await _each("referrals", Kind.REFERRAL, unopened, self.referral, progress)
        rounds = await queries.open_round_ids(self.pool, RoundStatus.OPEN.value)
        items += await _each("rounds", Kind.ROUND, rounds, self.round, progress)
        schedules = round_schedules(self.client.task_queue, self.policy.timezone)
        items += await _each("schedules", Kind.SCHEDULE, schedules, self.schedule, progress)
        items += await _each("plans", Kind.PLAN, await self._lost_plans(), self.planned, progress)
        return Recovery(items)

    async def round(self, round_id: str) -> Recovered:
        """An open round's workflow, from the round as its events leave it (its timer from its due time and now)."""
        workflow_id = round_workflow_id(round_id)
        status = await self._status(workflow_id)
        if status is WorkflowExecutionStatus.RUNNING:
            return Recovered(Kind.ROUND, round_id, Outcome.RUNNING)
        state = await inspections.round_state(self.pool, round_id)
        if state is None or state.status is not RoundStatus.OPEN:
            return Recovered(Kind.ROUND, round_id, Outcome.SETTLED)
        if status is not None and not self.restart_ended:
            return Recovered(Kind.ROUND, round_id, Outcome.ENDED, f"Temporal: {status.name.lower()}")
        if missing := [p.point_id for p in state.points if p.point_id not in self.client.city.points]:
            raise ValueError(f"points {missing} of the round are no longer in the city")
        points = tuple(self.client.city.points[p.point_id] for p in state.points)
        start = RoundInput(policy=self.policy, carried=state, points=points)
        outcome = await self._start(RoundWorkflow.run, start, workflow_id, ended=status is not None)
        return Recovered(Kind.ROUND, round_id, outcome, f"{len(state.remaining)} of {len(points)} points left")

    async def schedule(self, item: tuple[str, Any]) -> Recovered:
        """A round Schedule, created when the cluster lacks it (a Schedule the worker made is lost with the cluster)."""
        schedule_id, schedule = item
        handle = self.client.temporal.get_schedule_handle(schedule_id)
        try:
            await handle.describe()
            return Recovered(Kind.SCHEDULE, schedule_id, Outcome.RUNNING)
        except RPCError as error:
            if error.status is RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server has no Schedules
                return Recovered(Kind.SCHEDULE, schedule_id, Outcome.SETTLED, "this server keeps no Schedules")
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
        try:
            await self.client.temporal.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:  # created meanwhile by a worker starting
            return Recovered(Kind.SCHEDULE, schedule_id, Outcome.RUNNING)
        return Recovered(Kind.SCHEDULE, schedule_id, Outcome.STARTED)

    async def _lost_plans(self) -> list[PlanRound]:
        """The rounds of each Schedule's last firing, when that firing left no round in the store while the one before
        it did (the planner ran here, and its last run was lost with the cluster), still due after now."""
        points = self.client.city.points.values()
        rows = await inspections.point_rows(self.pool)
        checked = {point_id: row.last_checked_at for point_id, row in rows.items() if row.last_checked_at}
        lost: list[PlanRound] = []
        for kind in (RoundKind.TEAM, RoundKind.DUTY):
            latest, before = firings(kind, self.now, self.policy.timezone)
            plans = plan_rounds(kind, points, self.policy, latest, checked)
            earlier = [p.case_id for p in plan_rounds(kind, points, self.policy, before, checked)]
            present = await queries.streams_present(self.pool, [p.case_id for p in plans] + earlier)
            if present.isdisjoint(p.case_id for p in plans) and not present.isdisjoint(earlier):
                lost += [p for p in plans if p.due_at > self.now]
        return lost

    async def planned(self, plan: PlanRound) -> Recovered:
        """A lost firing's round, started as RoundPlannerWorkflow starts it (its id taken once)."""
        workflow_id = round_workflow_id(plan.case_id)
        status = await self._status(workflow_id)
        if status is not None:
            return Recovered(Kind.PLAN, plan.case_id, Outcome.RUNNING, f"Temporal: {status.name.lower()}")
        start = RoundInput(policy=self.policy, plan=plan)
        outcome = await self._start(RoundWorkflow.run, start, workflow_id, ended=False)
        return Recovered(Kind.PLAN, plan.case_id, outcome, f"due {plan.due_at.isoformat()}")

    async def case(self, case_id: str) -> Recovered:
        workflow_id = workflow_id_for(case_id)
        status = await self._status(workflow_id)
        if status is WorkflowExecutionStatus.RUNNING:
            return Recovered(Kind.CASE, case_id, Outcome.RUNNING)
        state = fold(await self.client.store.load_case(case_id))
        if state is None or not case_is_live(state, self.policy, self.now):
            return Recovered(Kind.CASE, case_id, Outcome.SETTLED)
        if status is not None and not self.restart_ended:
            return Recovered(Kind.CASE, case_id, Outcome.ENDED, f"Temporal: {status.name.lower()}")
        start = CaseWorkflowInput(
            policy=self.policy, carried=state, continue_as_new_after=self.client.continue_as_new_after
        )
        options = {"search_attributes": search.attributes_for(state)}
        outcome = await self._start(CaseWorkflow.run, start, workflow_id, ended=status is not None, **options)
        return Recovered(Kind.CASE, case_id, outcome, f"{state.status.value} v{state.version}")

    async def proceeding(self, proceeding_id: str) -> Recovered:
        status = await self._status(proceeding_id)
        if status is WorkflowExecutionStatus.RUNNING:
            return Recovered(Kind.PROCEEDING, proceeding_id, Outcome.RUNNING)
        state = fold_proceeding(await self.client.store.load_proceeding(proceeding_id))
        if state is None or state.status is ProceedingStatus.CLOSED:
            return Recovered(Kind.PROCEEDING, proceeding_id, Outcome.SETTLED)
        if status is not None and not self.restart_ended:
            return Recovered(Kind.PROCEEDING, proceeding_id, Outcome.ENDED, f"Temporal: {status.name.lower()}")
        start = ProceedingInput(policy=self.policy, carried=state)
        outcome = await self._start(AccountabilityWorkflow.run, start, proceeding_id, ended=status is not None)
        return Recovered(Kind.PROCEEDING, proceeding_id, outcome, f"{state.status.value} v{state.version}")

    async def referral(self, rung: tuple[str, int]) -> Recovered:
        """Open the proceeding of a top rung that was recorded but whose proceeding recorded nothing: referred
        as the case stood after that rung's command, as the case workflow would have."""
        case_id, version = rung
        proceeding_id = proceeding_id_for(case_id, version)
        status = await self._status(proceeding_id)
        if status is WorkflowExecutionStatus.RUNNING:  # opening right now
            return Recovered(Kind.REFERRAL, proceeding_id, Outcome.RUNNING)
        if status is not None and not self.restart_ended:
            return Recovered(Kind.REFERRAL, proceeding_id, Outcome.ENDED, f"Temporal: {status.name.lower()}")
        events = await self.client.store.load_case(case_id)
        cause = events[version - 1].causation_id
        upto = version
        while upto < len(events) and events[upto].causation_id == cause:
            upto += 1
        command_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"rectify-recover/{proceeding_id}"))
        case = fold(events[:upto])
        if case is None:  # the rung's case has no events: nothing to refer
            return Recovered(Kind.REFERRAL, proceeding_id, Outcome.SETTLED)
        start = ProceedingInput(policy=self.policy, referral=referral_for(case, version, command_id))
        outcome = await self._start(AccountabilityWorkflow.run, start, proceeding_id, ended=status is not None)
        return Recovered(Kind.REFERRAL, proceeding_id, outcome, f"case {case_id} v{version}")

    async def _status(self, workflow_id: str) -> WorkflowExecutionStatus | None:
        """The status of the workflow's latest run, or None when Temporal has never heard of it."""
        try:
            return (await self.client.temporal.get_workflow_handle(workflow_id).describe()).status
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return None
            raise

    async def _start(self, run: Any, start: Any, workflow_id: str, *, ended: bool, **options: Any) -> Outcome:
        try:
            await self.client.temporal.start_workflow(
                run,
                start,
                id=workflow_id,
                task_queue=self.client.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                # A fresh id, or (asked to) one whose run Temporal ended: never two runs at once.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
                if ended
                else WorkflowIDReusePolicy.REJECT_DUPLICATE,
                **options,
            )
        except WorkflowAlreadyStartedError:  # started meanwhile by another recovery or by its case
            return Outcome.RUNNING
        return Outcome.STARTED


async def _each(
    what: str,
    kind: Kind,
    items: Sequence[Any],
    work: Callable[[Any], Awaitable[Recovered]],
    progress: Progress | None,
) -> list[Recovered]:
    """`work` on every item, CONCURRENCY at a time, in the items' order; one item's own failure is reported as
    FAILED and the others go on. An unreachable server stops them all."""
    results: list[Recovered | None] = [None] * len(items)
    pending: Iterator[tuple[int, Any]] = iter(enumerate(items))
    done = 0

    async def worker() -> None:
        nonlocal done
        for index, item in pending:
            results[index] = await _guarded(kind, item, work)
            done += 1
            if progress is not None:
                progress(what, done, len(items))

    if progress is not None:
        progress(what, 0, len(items))
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(CONCURRENCY, len(items))):
                group.create_task(worker())
    except BaseExceptionGroup as failed:  # the first unreachable server, as itself
        raise failed.exceptions[0] from None
    return [r for r in results if r is not None]


async def _guarded(kind: Kind, item: Any, work: Callable[[Any], Awaitable[Recovered]]) -> Recovered:
    match item:
        case str():
            label = item
        case PlanRound():
            label = item.case_id
        case (str() as schedule_id, _) if kind is Kind.SCHEDULE:
            label = schedule_id
        case _:
            label = proceeding_id_for(*item)
    try:
        return await work(item)
    except RPCError as error:
        if error.status in _UNREACHABLE:
            raise
        return Recovered(kind, label, Outcome.FAILED, f"Temporal: {error.message}")
    except (ValueError, IndexError) as error:  # a stream that does not fold (pydantic's errors are ValueErrors)
        return Recovered(kind, label, Outcome.FAILED, f"{type(error).__name__}: {str(error)[:300]}")
