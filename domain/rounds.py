"""A round (巡查): `decide_round(state, command, now, policy)` / `evolve_round`, and when it next needs the clock.

A round is a set of points for one inspector unit (a task group's daily team round, or the duty leader's weekly
round walked with the inspectors), due by a time. Each point is recorded once; the round completes with its last
point. Its due time passing with points left is a missed deadline (RoundMissed); when the policy says so the
ladder's rungs follow, counted as for a case; the policy's hours later the round expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, assert_never, overload

from pydantic import Field, TypeAdapter

from rectify.domain import inspection_events as ie
from rectify.domain.commands import CommandBase
from rectify.domain.deadlines import rung_moment
from rectify.domain.decider import event_id
from rectify.domain.errors import InvalidCommand, NotAuthorised, UnknownUnit, WrongStatus
from rectify.domain.inspection import ROUND_PREFIX, InspectionPoint, point_stream
from rectify.domain.inspection_events import PlannedPoint, RoundEvent
from rectify.domain.points import ItemAnswer, RecordInspection
from rectify.domain.policy import Policy, Rung
from rectify.domain.types import SYSTEM_ACTOR, Frozen, Role, UtcDateTime


class RoundKind(StrEnum):
    TEAM = "team"  # 督查组天天督查: a task group's points, every day
    DUTY = "duty"  # 值班领导每周巡查: the duty leader's points, every week
    SPOT = "spot"  # started by hand (专项/临时巡查)


class RoundStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"


class PlanRound(CommandBase):
    type: Literal["plan_round"] = "plan_round"
    kind: RoundKind
    inspector_unit: Annotated[str, Field(min_length=1, max_length=100)]
    leader: Annotated[str | None, Field(max_length=100)] = None
    task_group: Annotated[str | None, Field(max_length=100)] = None
    points: Annotated[tuple[InspectionPoint, ...], Field(min_length=1, max_length=500)]
    due_at: UtcDateTime


class RecordRoundPoint(CommandBase):
    """The round's side of a point's record: which point, and which items failed (the point's stream has the rest)."""

    type: Literal["record_round_point"] = "record_round_point"
    point_id: Annotated[str, Field(min_length=1, max_length=100)]
    failed: tuple[str, ...] = ()


class RecordPoint(CommandBase):
    """What the inspector sends for one point of the round: an answer for every checklist item. The round's
    workflow splits it into the round's record and the point's (`split_record`)."""

    type: Literal["record_point"] = "record_point"
    point_id: Annotated[str, Field(min_length=1, max_length=100)]
    answers: Annotated[tuple[ItemAnswer, ...], Field(min_length=1, max_length=100)]


def split_record(command: RecordPoint, point: InspectionPoint) -> tuple[RecordRoundPoint, RecordInspection]:
    """The round's side (which point, which items failed) and the point's side (every answer) of one record, each
    with its own command id derived from the inspector's, so a retried record yields the same events."""
    failed = tuple(a.item for a in command.answers if not a.passed)
    on_round = RecordRoundPoint(
        command_id=f"{command.command_id}/round",
        case_id=command.case_id,
        actor=command.actor,
        point_id=command.point_id,
        failed=failed,
    )
    on_point = RecordInspection(
        command_id=f"{command.command_id}/point",
        case_id=point_stream(point.point_id),
        actor=command.actor,
        point=point,
        round_id=round_id_of(command.case_id),
        answers=command.answers,
    )
    return on_round, on_point


class RoundTick(CommandBase):
    type: Literal["round_tick"] = "round_tick"


RoundCommand = Annotated[PlanRound | RecordRoundPoint | RoundTick, Field(discriminator="type")]
ROUND_COMMAND_ADAPTER: TypeAdapter[RoundCommand] = TypeAdapter(RoundCommand)


class RoundState(Frozen):
    round_id: str
    version: int
    kind: RoundKind
    status: RoundStatus
    inspector_unit: str
    leader: str | None
    task_group: str | None
    points: tuple[PlannedPoint, ...]
    planned_at: datetime
    due_at: datetime
    #: Points recorded, with the items that failed on each.
    recorded: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    missed: bool = False
    escalation_level: int = 0
    ended_at: datetime | None = None

    @property
    def remaining(self) -> tuple[str, ...]:
        return tuple(p.point_id for p in self.points if p.point_id not in self.recorded)


def round_id_of(stream: str) -> str:
    return stream.removeprefix(ROUND_PREFIX)


def _rungs(state: RoundState, policy: Policy) -> list[tuple[datetime, Rung]]:
    """The ladder's rungs still to climb and their moments, for a missed round when the policy says rounds climb."""
    if not policy.inspection.rounds.ladder or state.status is not RoundStatus.OPEN:
        return []
    rungs = [r for r in policy.ladder if r.level > state.escalation_level]
    return [(rung_moment(policy, state.due_at, r, timedelta(0)), r) for r in rungs]


def expires_at(state: RoundState, policy: Policy) -> datetime:
    return state.due_at + timedelta(hours=policy.inspection.rounds.expire_after_hours)


def next_due(state: RoundState | None, policy: Policy) -> datetime | None:
    """The next moment the round needs the clock, or None once it has ended."""
    if state is None or state.status is not RoundStatus.OPEN:
        return None
    moments = [expires_at(state, policy)]
    if not state.missed:
        moments.append(state.due_at)
    if rungs := _rungs(state, policy):
        moments.append(rungs[0][0])
    return min(moments)


def decide_round(state: RoundState | None, command: RoundCommand, now: datetime, policy: Policy) -> list[RoundEvent]:
    stream = command.case_id
    version = state.version if state else 0
    out: list[RoundEvent] = []

    def emit(cls: type, system: bool = False, **fields: object) -> None:
        out.append(
            cls(
                event_id=event_id(command.command_id, len(out)),
                case_id=stream,
                version=version + len(out) + 1,
                occurred_at=now,
                actor=SYSTEM_ACTOR if system else command.actor,
                causation_id=command.command_id,
                correlation_id=stream,
                **fields,
            )
        )

    if isinstance(command, PlanRound):
        if state is not None:
            raise WrongStatus("the round is planned already", case_id=stream, status=state.status)
        if command.actor.role not in {Role.DISPATCHER, Role.SYSTEM}:
            raise NotAuthorised(f"rounds are planned by the office or its schedules, not a {command.actor.role}")
        if not stream.startswith(ROUND_PREFIX):
            raise InvalidCommand(f"a round's stream id starts with {ROUND_PREFIX!r}", case_id=stream)
        if command.inspector_unit not in policy.units:
            raise UnknownUnit(f"inspector unit {command.inspector_unit!r} is not a unit of the city", case_id=stream)
        if command.leader is not None and command.leader not in policy.inspection.leaders:
            raise InvalidCommand(f"unknown leader {command.leader!r}", case_id=stream)
        ids = [p.point_id for p in command.points]
        if len(set(ids)) != len(ids):
            raise InvalidCommand("a round names each point once", case_id=stream)
        if unknown := sorted({p.category for p in command.points} - set(policy.inspection.point_categories)):
            raise InvalidCommand(f"points of unknown point categories {unknown}", case_id=stream)
        if command.due_at <= now:
            raise InvalidCommand("a round's due time must come after it starts", case_id=stream)
        planned = tuple(PlannedPoint(point_id=p.point_id, name=p.name, category=p.category) for p in command.points)
        emit(
            ie.RoundPlanned,
            kind=command.kind.value,
            inspector_unit=command.inspector_unit,
            leader=command.leader,
            task_group=command.task_group,
            points=planned,
            due_at=command.due_at,
        )
        return out
    if state is None:
        raise WrongStatus(f"{command.type} needs a planned round; none exists", case_id=stream)
    match command:
        case RecordRoundPoint(point_id=point_id, failed=failed):
            if state.status is not RoundStatus.OPEN:
                raise WrongStatus(f"the round is {state.status.value}", case_id=stream, status=state.status)
            if command.actor.role is not Role.INSPECTOR or command.actor.unit_id != state.inspector_unit:
                raise NotAuthorised(
                    f"the round is walked by {state.inspector_unit}'s inspectors, not {command.actor.unit_id} "
                    f"acting as {command.actor.role}",
                    case_id=stream,
                    status=state.status,
                )
            if point_id not in {p.point_id for p in state.points}:
                raise InvalidCommand(f"point {point_id} is not on this round", case_id=stream, status=state.status)
            if point_id in state.recorded:
                raise WrongStatus(f"point {point_id} is recorded already", case_id=stream, status=state.status)
            emit(ie.RoundPointRecorded, point_id=point_id, failed=failed)
            if len(state.remaining) == 1:
                emit(ie.RoundCompleted, system=True, late=state.missed or now > state.due_at)
        case RoundTick():
            if command.actor.role is not Role.SYSTEM:
                raise NotAuthorised("only the clock ticks", case_id=stream, status=state.status)
            if state.status is not RoundStatus.OPEN:
                return out
            unit = state.inspector_unit
            if not state.missed and state.due_at <= now:
                emit(ie.RoundMissed, system=True, due_at=state.due_at, unit=unit, remaining=state.remaining)
            for moment, rung in _rungs(state, policy):
                if moment <= now and moment <= expires_at(state, policy):
                    emit(
                        ie.RoundEscalated,
                        system=True,
                        level=rung.level,
                        rung=rung.name,
                        due_at=moment,
                        unit=unit,
                        points=rung.points,
                    )
            if expires_at(state, policy) <= now:
                emit(ie.RoundExpired, system=True, remaining=state.remaining)
        case _:
            assert_never(command)
    return out


def evolve_round(state: RoundState | None, event: RoundEvent) -> RoundState:
    if state is None:
        if not isinstance(event, ie.RoundPlanned):
            raise ValueError(f"a round starts with round_planned, got {event.type}")
        return RoundState(
            round_id=round_id_of(event.case_id),
            version=event.version,
            kind=RoundKind(event.kind),
            status=RoundStatus.OPEN,
            inspector_unit=event.inspector_unit,
            leader=event.leader,
            task_group=event.task_group,
            points=event.points,
            planned_at=event.occurred_at,
            due_at=event.due_at,
        )
    changes: dict[str, Any] = {"version": event.version}
    match event:
        case ie.RoundPlanned():
            raise ValueError(f"round {state.round_id} is planned already")
        case ie.RoundPointRecorded(point_id=point_id, failed=failed):
            changes["recorded"] = state.recorded | {point_id: failed}
        case ie.RoundCompleted():
            changes |= {"status": RoundStatus.COMPLETED, "ended_at": event.occurred_at}
        case ie.RoundMissed():
            changes["missed"] = True
        case ie.RoundEscalated(level=level):
            changes["escalation_level"] = level
        case ie.RoundExpired():
            changes |= {"status": RoundStatus.EXPIRED, "ended_at": event.occurred_at}
        case _:
            assert_never(event)
    return state.replaced(changes)


@overload
def fold_round(events: Sequence[RoundEvent], state: RoundState) -> RoundState: ...
@overload
def fold_round(events: Sequence[RoundEvent], state: RoundState | None = None) -> RoundState | None: ...
def fold_round(events: Sequence[RoundEvent], state: RoundState | None = None) -> RoundState | None:
    for event in events:
        state = evolve_round(state, event)
    return state
