"""The direct engine: the same `decide`, policy and event store, on a simulated clock, in batches.

No Temporal here: this is the what-if tool for a city's real load (thousands of reports a day for a
month in minutes). Events go through `EventStore.append_many`, so hashes, read models and the outbox
are exactly what the workflow path writes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from rectify.bulletins.issue import issue_bulletin
from rectify.city import City
from rectify.domain import commands as c
from rectify.domain.accountability import (
    DecideProceeding,
    OpenProceeding,
    ProceedingState,
    ProceedingTick,
    SubmitExplanation,
    decide_proceeding,
    fold_proceeding,
    referral_for,
)
from rectify.domain.bulletin import Bulletin
from rectify.domain.decider import case_id_for, decide
from rectify.domain.duplicates import Candidate, Duplicate, duplicate_of, search_area
from rectify.domain.errors import DomainError
from rectify.domain.events import EscalationRaised, Event
from rectify.domain.state import CaseState, fold
from rectify.domain.types import SYSTEM_ACTOR
from rectify.sim.core import StepRefused
from rectify.sim.intake import PlannedReport
from rectify.store import EventStore
from rectify.store.checkpoints import record_checkpoint
from rectify.store.duplicates import nearby_open_cases

_IDS = uuid.UUID("0f5e2d7c-3a61-4b0e-9c8d-6e4f1a2b3c5d")
Stream = CaseState | ProceedingState


class DirectEngine:
    name = "direct"

    def __init__(self, store: EventStore, city: City, bulletin_dir: Path, *, batch_events: int = 4000) -> None:
        self.store, self.city, self.policy = store, city, city.policy
        self.bulletin_dir = bulletin_dir
        self.batch_events = batch_events
        #: case id -> (expected version in the store, events not yet written, state after them)
        self._buffer: dict[str, tuple[int, list[Event], CaseState]] = {}
        self._buffered = 0
        self.appended = 0
        self._top_rungs: dict[str, list[int]] = {}

    async def advance_to(self, at: datetime) -> None:
        """The clock is simply the moment of each step: nothing waits."""

    async def report(self, report: PlannedReport, at: datetime) -> CaseState:
        """A new case, or the open case it repeats (the duplicate rule, asked as the SDK asks it)."""
        found = await self._duplicate_of(report, at)
        if found is not None:
            attach = c.AttachDuplicate(
                command_id=str(uuid.uuid5(_IDS, f"attach/{report.key}")),
                case_id=found.case_id,
                actor=report.actor,
                idempotency_key=report.key,
                description=report.description.strip(),
                location=report.location,
                channel=report.channel,
                distance_m=found.distance_m,
            )
            try:
                return await self._decide(await self._state_of(found.case_id), attach, at)
            except StepRefused:
                pass  # the target refused: the report opens a case of its own, as through the SDK
        command = c.ReportCase(
            command_id=str(uuid.uuid5(_IDS, f"report/{report.key}")),
            case_id=case_id_for(report.key),
            actor=report.actor,
            idempotency_key=report.key,
            category=report.category,
            description=report.description,
            location=report.location,
            channel=report.channel,
            routing=self.city.router.route(report.category, report.location),
        )
        return await self._decide(None, command, at)

    async def _duplicate_of(self, report: PlannedReport, at: datetime) -> Duplicate | None:
        """The store's candidates, as the SDK gets them, brought up to date with the events not yet written."""
        area = search_area(self.policy, report.category, report.location, at)
        found = {c.case_id: c for c in await nearby_open_cases(self.store.pool, area)}
        for case_id, (_, _, state) in self._buffer.items():
            if isinstance(state, CaseState):
                found[case_id] = Candidate(case_id, state.category, state.location, state.opened_at, state.status)
        return duplicate_of(self.policy, report.category, report.location, at, found.values())

    async def _state_of(self, case_id: str) -> CaseState:
        buffered = self._buffer.get(case_id)
        return buffered[2] if buffered else fold(await self.store.load(case_id))

    async def execute(self, state: Stream, command: c.Command, at: datetime) -> Stream:
        return await self._decide(state, command, at)

    async def tick(self, state: CaseState | ProceedingState, at: datetime) -> CaseState | ProceedingState:
        stream = state.proceeding_id if isinstance(state, ProceedingState) else state.case_id
        tick_id = str(uuid.uuid5(_IDS, f"tick/{stream}/{state.version}"))
        kind = ProceedingTick if isinstance(state, ProceedingState) else c.Tick
        return await self._decide(state, kind(command_id=tick_id, case_id=stream, actor=SYSTEM_ACTOR), at)

    async def opened_proceedings(self, case: CaseState, at: datetime) -> list[ProceedingState]:
        """What the case workflow's child does at the top rung: open a proceeding with the same referral."""
        opened = []
        for version in self._top_rungs.pop(case.case_id, []):
            command_id = str(uuid.uuid5(_IDS, f"referral/{case.case_id}/{version}"))
            opened.append(await self._decide(None, referral_for(case, version, command_id), at))
        return opened

    async def bulletin(self, week: str, at: datetime) -> Bulletin:
        """What BulletinWorkflow does, called directly: a checkpoint, then the numbered files."""
        await record_checkpoint(self.store.pool)
        return await issue_bulletin(self.store, self.policy, week, self.bulletin_dir, today=at.date())

    async def _decide(self, state: Stream | None, command: object, at: datetime) -> Stream:
        proceeding = isinstance(command, OpenProceeding | SubmitExplanation | DecideProceeding | ProceedingTick)
        try:
            if proceeding:
                events = decide_proceeding(state, command, at, self.policy)
            else:
                events = decide(state, command, at, self.policy)
        except DomainError as error:
            raise StepRefused(error.rule, str(error)) from None
        if not events:
            return state
        after = fold_proceeding(events, state) if proceeding else fold(events, state)
        top = len(self.policy.ladder)
        rungs = [e.version for e in events if isinstance(e, EscalationRaised) and e.level == top]
        if rungs:
            self._top_rungs.setdefault(command.case_id, []).extend(rungs[:1])
        expected, pending, _ = self._buffer.get(command.case_id, (state.version if state else 0, [], None))
        self._buffer[command.case_id] = (expected, [*pending, *events], after)
        self._buffered += len(events)
        if self._buffered >= self.batch_events:
            await self.flush()
        return after

    async def flush(self) -> None:
        if not self._buffer:
            return
        await self.store.append_many([(case_id, *entry) for case_id, entry in self._buffer.items()])
        self.appended += self._buffered
        self._buffer.clear()
        self._buffered = 0
