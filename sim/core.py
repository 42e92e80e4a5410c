"""The simulation loop: one simulated clock, one queue of what happens next, and an engine that does it.

The loop is shared by both engines, so the moments at which the behaviour model is asked, the order
of ticks and steps, and therefore the business decisions are the same; the engines differ only in
*how* a step is carried out (in-process `decide`, or the real worker through the client SDK).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from rectify.city import City
from rectify.domain import commands as c
from rectify.domain.accountability import ProceedingCommand, ProceedingState, ProceedingStatus
from rectify.domain.accountability import next_due as proceeding_due
from rectify.domain.decider import case_id_for
from rectify.domain.escalation import next_due
from rectify.domain.periods import previous_week, week_of
from rectify.domain.rounds import PlanRound, RecordPoint, RoundState, RoundStatus
from rectify.domain.rounds import next_due as round_due
from rectify.domain.state import CaseState
from rectify.domain.types import FINAL_STATUSES, Actor, CaseStatus, Role
from rectify.sim.behaviour import Behaviour, Planned
from rectify.sim.intake import PlannedReport, day_reports
from rectify.sim.rounds import Walk, rounds_starting, walks

#: At one instant, fired deadlines come before people's steps, and those before new reports.
_TICK, _STEP, _REPORT, _BULLETIN, _DAY = 0, 1, 2, 3, -1
#: Rounds (sim/rounds.py): a round's due moment with the ticks, its start and its walks after the reports.
_ROUND_TICK, _ROUND_START, _WALK = 0, 4, 5
#: 一周一讲评: the week's bulletin is issued on Monday at this hour, as the Schedule does in production.
BULLETIN_HOUR = 9


class StepRefused(Exception):
    """The rules refused a simulated step (it is counted and the case carries on)."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(message)


#: What a simulated stream is: a case, or an accountability proceeding.
Stream = CaseState | ProceedingState


class Engine(Protocol):
    name: str

    async def advance_to(self, at: datetime) -> None: ...
    async def report(self, report: PlannedReport, at: datetime) -> CaseState: ...  # the new case, or the one joined
    async def execute(self, state: Stream, command: c.Command | ProceedingCommand, at: datetime) -> Stream: ...
    async def tick(self, state: Stream, at: datetime) -> Stream: ...
    async def opened_proceedings(self, case: CaseState, at: datetime) -> list[ProceedingState]: ...
    async def bulletin(self, week: str, at: datetime) -> object: ...
    async def flush(self) -> None: ...
    async def plan_round(self, plan: PlanRound, at: datetime) -> RoundState: ...
    async def record_round_point(
        self, state: RoundState, record: RecordPoint, at: datetime
    ) -> tuple[RoundState, list[CaseState]]: ...  # the round after it, and the cases its failed items opened
    async def tick_round(self, state: RoundState, at: datetime) -> RoundState: ...


@dataclass(frozen=True)
class SimConfig:
    seed: int
    days: int
    reports_per_day: int
    start: date
    #: Inspection rounds over the city's points (sim/rounds.py): off unless asked, so a run without them stays
    #: the run it always was.
    rounds: bool = False

    def start_at(self, city: City) -> datetime:
        return datetime.combine(self.start, time(0), city.policy.calendar.zone)

    def end_at(self, city: City) -> datetime:
        return self.start_at(city) + timedelta(days=self.days)


@dataclass
class SimCounts:
    """What happened, as counted by the loop (the summary recounts it all from the stored events)."""

    reports: int = 0
    #: Reports that joined an open case they repeat (the duplicate rule) instead of opening one.
    duplicates: int = 0
    steps: int = 0
    ticks: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    open_cases: int = 0
    bulletins: list[str] = field(default_factory=list)
    proceedings: int = 0
    rounds: int = 0
    rounds_missed: int = 0
    points_recorded: int = 0
    failure_cases: int = 0


Progress = Callable[[datetime, SimCounts], None]


class Simulation:
    def __init__(self, city: City, config: SimConfig, engine: Engine, progress: Progress | None = None) -> None:
        self.city, self.config, self.engine, self.progress = city, config, engine, progress
        self.policy = city.policy
        self.behaviour = Behaviour(self.policy, config.seed)
        self.counts = SimCounts()
        #: (moment, rank, sequence, item): the item is a day's index, a report, a week, a stream id or a planned step,
        #: as the rank says.
        self._queue: list[tuple[datetime, int, int, Any]] = []
        self._seq = itertools.count()
        self._states: dict[str, Stream] = {}
        self._due: dict[str, datetime] = {}
        self._pending: dict[str, Planned] = {}
        self._rounds: dict[str, RoundState] = {}
        self._round_due: dict[str, datetime] = {}
        #: When each point was last recorded: the next day's team rounds take those checked longest ago.
        self._checked: dict[str, datetime] = {}

    def _push(self, at: datetime, rank: int, item: Any) -> None:
        heapq.heappush(self._queue, (at, rank, next(self._seq), item))

    async def run(self) -> SimCounts:
        start, end = self.config.start_at(self.city), self.config.end_at(self.city)
        zone = self.policy.timezone
        for index in range(self.config.days):
            self._push(start + timedelta(days=index), _DAY, index)
            day = self.config.start + timedelta(days=index)
            ended = previous_week(week_of(day, zone), zone)
            if day.weekday() == 0 and ended.end > start:  # a Monday after a simulated (part of a) week
                self._push(start + timedelta(days=index, hours=BULLETIN_HOUR), _BULLETIN, ended.label)
        while self._queue and self._queue[0][0] < end:
            at, rank, _, item = heapq.heappop(self._queue)
            if rank == _DAY:
                day = self.config.start + timedelta(days=item)
                for report in day_reports(self.city, self.config.seed, day, self.config.reports_per_day, item):
                    self._push(report.at, _REPORT, report)
                if self.config.rounds:
                    for plan in rounds_starting(self.city, at, self._checked):
                        self._push(plan.due_at - self._round_length(plan), _ROUND_START, plan)
                continue
            if rank == _ROUND_TICK and isinstance(item, tuple):
                if self._round_due.get(item[1]) != at:
                    continue
                await self.engine.advance_to(at)
                self._round_changed(await self.engine.tick_round(self._rounds[item[1]], at))
                continue
            if rank == _TICK and self._due.get(item) != at:
                continue  # superseded: the case moved on before this moment
            if rank == _STEP and self._pending.get(item[0]) is not item[1]:
                continue
            await self.engine.advance_to(at)
            await self._handle(at, rank, item)
            if self.progress:
                self.progress(at, self.counts)
        await self.engine.flush()
        self.counts.open_cases = sum(
            1 for s in self._states.values() if isinstance(s, CaseState) and s.status not in FINAL_STATUSES
        )
        if self.progress:
            self.progress(end, self.counts)
        return self.counts

    def _round_length(self, plan: PlanRound) -> timedelta:
        rules = self.policy.inspection.rounds
        return timedelta(hours=rules.duty_round_hours if plan.leader else rules.team_round_hours)

    async def _handle(self, at: datetime, rank: int, item: Any) -> None:
        if rank == _ROUND_START:
            state = await self.engine.plan_round(item, at)
            self.counts.rounds += 1
            self._round_changed(state)
            day_index = (at.astimezone(self.policy.calendar.zone).date() - self.config.start).days
            for walk in walks(self.city, self.config.seed, item, at, day_index):
                self._push(walk.at, _WALK, walk)
        elif rank == _WALK:
            await self._walk(item, at)
        elif rank == _BULLETIN:
            await self.engine.flush()  # the bulletin counts what is in the store
            await self.engine.bulletin(item, at)
            self.counts.bulletins.append(item)
        elif rank == _REPORT:
            state = await self.engine.report(item, at)
            self.counts.reports += 1
            if state.case_id == case_id_for(item.key):
                self._changed(state, at, human=True)
            else:  # it repeats an open case and joined it: that case's clocks and plans stand
                self.counts.duplicates += 1
                self._states[state.case_id] = state
        elif rank == _TICK:
            state = await self.engine.tick(self._states[item], at)
            self.counts.ticks += 1
            self._changed(state, at, human=False)
            if isinstance(state, CaseState):
                for proceeding in await self.engine.opened_proceedings(state, at):  # 四问责: a proceeding opens
                    self.counts.proceedings += 1
                    self._changed(proceeding, at, human=True)
        else:
            case_id, planned = item
            try:
                state = await self.engine.execute(self._states[case_id], planned.command, at)
            except StepRefused as refused:
                self.counts.refused[refused.rule] = self.counts.refused.get(refused.rule, 0) + 1
                del self._pending[case_id]
                return
            self.counts.steps += 1
            self._changed(state, at, human=True)

    async def _walk(self, walk: Walk, at: datetime) -> None:
        state = self._rounds.get(walk.round_stream)
        if state is None or state.status is not RoundStatus.OPEN:
            return  # expired before the inspectors got there
        record = RecordPoint(
            command_id=f"sim-walk/{walk.round_stream}/{walk.point_id}",
            case_id=walk.round_stream,
            actor=Actor(unit_id=state.inspector_unit, role=Role.INSPECTOR),
            point_id=walk.point_id,
            answers=walk.answers,
        )
        state, cases = await self.engine.record_round_point(state, record, at)
        self.counts.points_recorded += 1
        self._checked[walk.point_id] = at
        self._round_changed(state)
        for case in cases:
            self.counts.failure_cases += 1
            if case.case_id in self._states:  # it repeats an open case and joined it: its clocks and plans stand
                self._states[case.case_id] = case
            else:
                self._changed(case, at, human=True)  # the units work it like any other case

    def _round_changed(self, state: RoundState) -> None:
        stream = f"rd-{state.round_id}"
        if state.missed and not self._rounds.get(stream, state).missed:
            self.counts.rounds_missed += 1
        self._rounds[stream] = state
        due = round_due(state, self.policy)
        if due is None:
            self._round_due.pop(stream, None)
            del self._rounds[stream]
            return
        self._round_due[stream] = due
        self._push(due, _ROUND_TICK, ("round", stream))

    def _changed(self, state: CaseState | ProceedingState, at: datetime, *, human: bool) -> None:
        if isinstance(state, ProceedingState):
            self._changed_proceeding(state, at, human=human)
            return
        case_id = state.case_id
        self._states[case_id] = state
        due = next_due(state, self.policy)
        if due is not None:
            # A deadline already past (its clock ran again on resuming or upholding) fires now, as in the workflow.
            due = max(due, at)
            self._due[case_id] = due
            self._push(due, _TICK, case_id)
        else:
            self._due.pop(case_id, None)
        before = self._pending.get(case_id)
        planned = self.behaviour.plan(state, at) if human else self.behaviour.after_tick(state, at, before)
        if planned is None:
            self._pending.pop(case_id, None)
        elif planned is not before:
            self._pending[case_id] = planned
            self._push(planned.at, _STEP, (case_id, planned))
        if due is None and planned is None and (state.status in FINAL_STATUSES or state.status is CaseStatus.CLOSED):
            del self._states[case_id]  # nothing more will happen to it here: keep memory flat over long runs

    def _changed_proceeding(self, state: ProceedingState, at: datetime, *, human: bool) -> None:
        stream = state.proceeding_id
        self._states[stream] = state
        due = proceeding_due(state)
        if due is not None:
            self._due[stream] = max(due, at)
            self._push(self._due[stream], _TICK, stream)
        else:
            self._due.pop(stream, None)
        before = self._pending.get(stream)
        planned = self.behaviour.plan_proceeding(state, at) if human or before is None else before
        if planned is None:
            self._pending.pop(stream, None)
        elif planned is not before:
            self._pending[stream] = planned
            self._push(planned.at, _STEP, (stream, planned))
        if state.status is ProceedingStatus.CLOSED:
            del self._states[stream]
