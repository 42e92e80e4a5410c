"""The direct engine: the same `decide`, policy and event store, on a simulated clock, in batches.

No Temporal here: this is the what-if tool for a city's real load (thousands of reports a day for a
month in minutes). Events go through `EventStore.append_many`, so hashes, read models and the outbox
are exactly what the workflow path writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import cast

from rectify.bulletins.issue import issue_bulletin
from rectify.city import City
from rectify.domain import commands as c
from rectify.domain.accountability import (
    ProceedingCommand,
    ProceedingState,
    ProceedingTick,
    decide_proceeding,
    fold_proceeding,
    referral_for,
)
from rectify.domain.bulletin import Bulletin
from rectify.domain.decider import case_id_for, decide
from rectify.domain.duplicates import Candidate, Duplicate, attachment, duplicate_of, search_area
from rectify.domain.errors import DomainError
from rectify.domain.events import EscalationRaised, StoredEvent
from rectify.domain.inspection import point_stream, route_failure
from rectify.domain.inspection_events import POINT_EVENT_LIST_ADAPTER, ItemResult, PointInspected
from rectify.domain.points import LinkFailureCase, PointCommand, PointState, decide_point, fold_point
from rectify.domain.rounds import (
    PlanRound,
    RecordPoint,
    RoundCommand,
    RoundState,
    RoundTick,
    decide_round,
    fold_round,
    split_record,
)
from rectify.domain.state import CaseState, fold
from rectify.domain.types import SYSTEM_ACTOR, Routing
from rectify.sim.core import StepRefused, Stream
from rectify.sim.intake import PlannedReport, failure_report
from rectify.store import EventStore
from rectify.store.checkpoints import record_checkpoint
from rectify.store.duplicates import nearby_open_cases
from rectify.store.projections import StreamState

_IDS = uuid.UUID("0f5e2d7c-3a61-4b0e-9c8d-6e4f1a2b3c5d")


class DirectEngine:
    name = "direct"

    def __init__(self, store: EventStore, city: City, bulletin_dir: Path, *, batch_events: int = 4000) -> None:
        self.store, self.city, self.policy = store, city, city.policy
        self.bulletin_dir = bulletin_dir
        self.batch_events = batch_events
        #: stream id -> (expected version in the store, events not yet written, state after them)
        self._buffer: dict[str, tuple[int, list[StoredEvent], StreamState]] = {}
        self._buffered = 0
        self.appended = 0
        self._top_rungs: dict[str, list[int]] = {}

    async def advance_to(self, at: datetime) -> None:
        """The clock is simply the moment of each step: nothing waits."""

    async def report(self, report: PlannedReport, at: datetime) -> CaseState:
        """A new case, or the open case it repeats (the duplicate rule, asked as the SDK asks it)."""
        command = c.ReportCase(
            command_id=str(uuid.uuid5(_IDS, f"report/{report.key}")),
            case_id=case_id_for(report.key),
            actor=report.actor,
            idempotency_key=report.key,
            category=report.category,
            description=report.description,
            location=report.location,
            channel=report.channel,
            evidence=report.evidence,
            routing=self._routing(report),
            point_id=report.point.point_id if report.point else None,
        )
        found = await self._duplicate_of(report, at)
        if found is not None:
            attach = attachment(command, found, command_id=str(uuid.uuid5(_IDS, f"attach/{report.key}")))
            try:
                return await self._decide_case(await self._state_of(found.case_id), attach, at)
            except StepRefused:
                pass  # the target refused: the report opens a case of its own, as through the SDK
        return await self._decide_case(None, command, at)

    def _routing(self, report: PlannedReport) -> Routing:
        routing = self.city.router.route(report.category, report.location)
        return route_failure(routing, report.point) if report.point else routing  # as the SDK's intake routes it

    async def _duplicate_of(self, report: PlannedReport, at: datetime) -> Duplicate | None:
        """The store's candidates, as the SDK gets them, brought up to date with the events not yet written."""
        area = search_area(self.policy, report.category, report.location, at)
        found = {c.case_id: c for c in await nearby_open_cases(self.store.pool, area)}
        for case_id, (_, _, state) in self._buffer.items():
            if isinstance(state, CaseState):
                found[case_id] = Candidate(case_id, state.category, state.location, state.opened_at, state.status)
        return duplicate_of(self.policy, report.category, report.location, at, found.values())

    async def _state_of(self, case_id: str) -> CaseState | None:
        buffered = self._buffer.get(case_id)
        state = buffered[2] if buffered else fold(await self.store.load_case(case_id))
        return state if isinstance(state, CaseState) else None

    async def execute(self, state: Stream, command: c.Command | ProceedingCommand, at: datetime) -> Stream:
        if isinstance(state, ProceedingState):
            return await self._decide_proceeding(state, cast("ProceedingCommand", command), at)
        return await self._decide_case(state, cast("c.Command", command), at)

    async def tick(self, state: Stream, at: datetime) -> Stream:
        if isinstance(state, ProceedingState):
            tick_id = str(uuid.uuid5(_IDS, f"tick/{state.proceeding_id}/{state.version}"))
            tick = ProceedingTick(command_id=tick_id, case_id=state.proceeding_id, actor=SYSTEM_ACTOR)
            return await self._decide_proceeding(state, tick, at)
        tick_id = str(uuid.uuid5(_IDS, f"tick/{state.case_id}/{state.version}"))
        return await self._decide_case(state, c.Tick(command_id=tick_id, case_id=state.case_id, actor=SYSTEM_ACTOR), at)

    async def opened_proceedings(self, case: CaseState, at: datetime) -> list[ProceedingState]:
        """What the case workflow's child does at the top rung: open a proceeding with the same referral."""
        opened = []
        for version in self._top_rungs.pop(case.case_id, []):
            command_id = str(uuid.uuid5(_IDS, f"referral/{case.case_id}/{version}"))
            opened.append(await self._decide_proceeding(None, referral_for(case, version, command_id), at))
        return opened

    async def bulletin(self, week: str, at: datetime) -> Bulletin:
        """What BulletinWorkflow does, called directly: a checkpoint, then the numbered files."""
        await record_checkpoint(self.store.pool)
        points = tuple(self.city.points.values())
        return await issue_bulletin(self.store, self.policy, week, self.bulletin_dir, today=at.date(), points=points)

    # -- rounds: what RoundWorkflow and the round activities do, decided here ----------------------------------
    async def plan_round(self, plan: PlanRound, at: datetime) -> RoundState:
        return await self._decide_round(None, plan, at)

    async def tick_round(self, state: RoundState, at: datetime) -> RoundState:
        tick_id = str(uuid.uuid5(_IDS, f"tick/rd-{state.round_id}/{state.version}"))
        return await self._decide_round(
            state, RoundTick(command_id=tick_id, case_id=f"rd-{state.round_id}", actor=SYSTEM_ACTOR), at
        )

    async def record_round_point(
        self, state: RoundState, record: RecordPoint, at: datetime
    ) -> tuple[RoundState, list[CaseState]]:
        point = self.city.points[record.point_id]
        on_round, on_point = split_record(record, point)
        after = await self._decide_round(state, on_round, at)
        inspected = await self._decide_point(on_point, at)
        cases = []
        category = self.policy.inspection.point_categories[point.category]
        for result in (r for r in inspected if not r.passed):
            item = category.item(result.item)
            assert item is not None  # (the checklist was checked by decide_point)
            case = await self.report(failure_report(point, item, result, after.round_id, after.inspector_unit, at), at)
            cases.append(case)
            link = LinkFailureCase(
                command_id=f"link/{after.round_id}/{point.point_id}/{item.code}",
                case_id=point_stream(point.point_id),
                actor=SYSTEM_ACTOR,
                item=item.code,
                opened_case_id=case.case_id,
                round_id=after.round_id,
            )
            await self._decide_point(link, at)
        return after, cases

    async def _decide_round(self, state: RoundState | None, command: RoundCommand, at: datetime) -> RoundState:
        try:
            events = decide_round(state, command, at, self.policy)
        except DomainError as error:
            raise StepRefused(error.rule, str(error)) from None
        after = fold_round(events, state)
        assert after is not None
        await self._buffer_events(command.case_id, state.version if state else 0, events, after)
        return after

    async def _decide_point(self, command: PointCommand, at: datetime) -> tuple[ItemResult, ...]:
        """The point's record or link, on its stream as buffered or stored; the results recorded, if a record."""
        buffered = self._buffer.get(command.case_id)
        if buffered is not None:
            state: PointState | None = cast("PointState", buffered[2])
            version = buffered[0] + len(buffered[1])
        else:
            stored = POINT_EVENT_LIST_ADAPTER.validate_python(
                [r.body for r in await self.store.load_records(command.case_id)]
            )
            state, version = fold_point(stored), len(stored)
        events = decide_point(state, command, at, self.policy)
        after = fold_point(events, state)
        if after is not None and events:
            await self._buffer_events(command.case_id, version, events, after)
        return next((e.results for e in events if isinstance(e, PointInspected)), ())

    async def _decide_case(self, state: CaseState | None, command: c.Command, at: datetime) -> CaseState:
        try:
            events = decide(state, command, at, self.policy)
        except DomainError as error:
            raise StepRefused(error.rule, str(error)) from None
        after = fold(events, state)
        if after is None:  # a refusal is an error, so only a report could leave nothing, and it never does
            raise StepRefused("invalid_command", f"{command.type} on case {command.case_id} recorded nothing")
        top = len(self.policy.ladder)
        rungs = [e.version for e in events if isinstance(e, EscalationRaised) and e.level == top]
        if rungs:
            self._top_rungs.setdefault(command.case_id, []).extend(rungs[:1])
        await self._buffer_events(command.case_id, state.version if state else 0, events, after)
        return after

    async def _decide_proceeding(
        self, state: ProceedingState | None, command: ProceedingCommand, at: datetime
    ) -> ProceedingState:
        try:
            events = decide_proceeding(state, command, at, self.policy)
        except DomainError as error:
            raise StepRefused(error.rule, str(error)) from None
        after = fold_proceeding(events, state)
        if after is None:  # as for a case: only the referral could leave nothing, and it never does
            raise StepRefused("invalid_command", f"{command.type} on {command.case_id} recorded nothing")
        await self._buffer_events(command.case_id, state.version if state else 0, events, after)
        return after

    async def _buffer_events(
        self, stream: str, version: int, events: Sequence[StoredEvent], after: StreamState
    ) -> None:
        if not events:
            return
        expected, pending, _ = self._buffer.get(stream, (version, [], None))
        self._buffer[stream] = (expected, [*pending, *events], after)
        self._buffered += len(events)
        if self._buffered >= self.batch_events:
            await self.flush()

    async def flush(self) -> None:
        if not self._buffer:
            return
        await self.store.append_many([(case_id, *entry) for case_id, entry in self._buffer.items()])
        self.appended += self._buffered
        self._buffer.clear()
        self._buffered = 0
