"""Accountability proceedings (问责): referral → the unit's explanation (说明) → a reviewer's decision → closed.

A proceeding is its own stream (`acc-<case id>-<case version>`), opened when a case reaches the top
rung. The case may close while its proceeding goes on. Pure like the case decider: ids and times
arrive from outside; a refused command raises a DomainError naming the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, assert_never, overload

from pydantic import Field, TypeAdapter

from rectify.domain import events as e
from rectify.domain.commands import CommandBase, Reason
from rectify.domain.deadlines import add_time
from rectify.domain.decider import event_id
from rectify.domain.errors import NotAuthorised, WrongStatus
from rectify.domain.events import MissedDeadline, ProceedingEvent
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState
from rectify.domain.text import Text, TextKind, check_text
from rectify.domain.types import SYSTEM_ACTOR, Actor, EvidenceRef, Frozen, Role


class Outcome(StrEnum):
    NO_FAULT = "no_fault"  # 不予问责
    INTERVIEW = "interview"  # 约谈
    PUBLIC_CRITICISM = "public_criticism"  # 通报批评
    DISCIPLINE = "discipline"  # 移交纪检


class ProceedingStatus(StrEnum):
    REFERRED = "referred"  # waiting for the unit's explanation
    EXPLAINED = "explained"
    EXPLANATION_MISSED = "explanation_missed"
    CLOSED = "closed"


class OpenProceeding(CommandBase):
    """Issued by the case workflow (the system) when the case reaches the top rung."""

    type: Literal["open_proceeding"] = "open_proceeding"
    subject_case_id: str
    unit: str
    responsible_role: str | None
    missed: tuple[MissedDeadline, ...]
    evidence: tuple[EvidenceRef, ...] = ()


class SubmitExplanation(CommandBase):
    type: Literal["submit_explanation"] = "submit_explanation"
    text: Annotated[str, Text(TextKind.EXPLANATION, required=True)]


class DecideProceeding(CommandBase):
    type: Literal["decide_proceeding"] = "decide_proceeding"
    outcome: Outcome
    reason: Reason


class ProceedingTick(CommandBase):
    type: Literal["proceeding_tick"] = "proceeding_tick"


ProceedingCommand = Annotated[
    OpenProceeding | SubmitExplanation | DecideProceeding | ProceedingTick, Field(discriminator="type")
]
PROCEEDING_COMMAND_ADAPTER: TypeAdapter[ProceedingCommand] = TypeAdapter(ProceedingCommand)


class ProceedingState(Frozen):
    proceeding_id: str
    version: int
    status: ProceedingStatus
    subject_case_id: str
    unit: str
    responsible_role: str | None
    correlation_id: str
    opened_at: datetime
    explanation_due_at: datetime
    explanation: str | None = None
    outcome: Outcome | None = None
    points: float = 0.0
    decided_at: datetime | None = None


def proceeding_id_for(case_id: str, case_version: int) -> str:
    """One proceeding per top-rung escalation: the case version of that rung keeps ids stable on retry."""
    return f"{e.PROCEEDING_PREFIX}{case_id}-{case_version}"


def referral_for(case: CaseState, case_version: int, command_id: str) -> OpenProceeding:
    """The referral for a case that reached the top rung: who, which case, which deadlines were missed, the evidence."""
    missed = tuple(
        MissedDeadline(stage=stage, due_at=d.due_at) for stage, d in sorted(case.deadlines.items()) if d.missed
    )
    return OpenProceeding(
        command_id=command_id,
        case_id=proceeding_id_for(case.case_id, case_version),
        actor=SYSTEM_ACTOR,
        subject_case_id=case.case_id,
        unit=case.lead_unit or "unknown",
        responsible_role=None,
        missed=missed,
        evidence=case.evidence,
    )


def evolve_proceeding(state: ProceedingState | None, event: ProceedingEvent) -> ProceedingState:
    if state is None:
        if not isinstance(event, e.ProceedingOpened):
            raise ValueError(f"a proceeding must start with proceeding_opened, got {event.type}")
        return ProceedingState(
            proceeding_id=event.case_id,
            version=event.version,
            status=ProceedingStatus.REFERRED,
            subject_case_id=event.subject_case_id,
            unit=event.unit,
            responsible_role=event.responsible_role,
            correlation_id=event.correlation_id,
            opened_at=event.occurred_at,
            explanation_due_at=event.explanation_due_at,
        )
    changes: dict[str, Any] = {"version": event.version}
    match event:
        case e.ProceedingOpened():
            raise ValueError(f"proceeding {state.proceeding_id} is already open")
        case e.ExplanationSubmitted(text=text):
            changes |= {"status": ProceedingStatus.EXPLAINED, "explanation": text}
        case e.ExplanationMissed():
            changes["status"] = ProceedingStatus.EXPLANATION_MISSED
        case e.ProceedingDecided(outcome=outcome, points=points):
            changes |= {"outcome": Outcome(outcome), "points": points, "decided_at": event.occurred_at}
        case e.ProceedingClosed():
            changes["status"] = ProceedingStatus.CLOSED
        case _:
            assert_never(event)
    return state.replaced(changes)


@overload
def fold_proceeding(events: Sequence[ProceedingEvent], state: ProceedingState) -> ProceedingState: ...
@overload
def fold_proceeding(
    events: Sequence[ProceedingEvent], state: ProceedingState | None = None
) -> ProceedingState | None: ...
def fold_proceeding(events: Sequence[ProceedingEvent], state: ProceedingState | None = None) -> ProceedingState | None:
    """The proceeding after `events`, from `state` (None before its referral: then None if there are none)."""
    for event in events:
        state = evolve_proceeding(state, event)
    return state


def next_due(state: ProceedingState | None) -> datetime | None:
    return state.explanation_due_at if state and state.status is ProceedingStatus.REFERRED else None


def decide_proceeding(
    state: ProceedingState | None, command: ProceedingCommand, now: datetime, policy: Policy
) -> list[ProceedingEvent]:
    check_text(command, policy.text_limits(), case_id=command.case_id)
    version = state.version if state else 0
    correlation = state.correlation_id if state else command.command_id
    out: list[ProceedingEvent] = []

    def emit(cls: type, actor: Actor | None = None, **fields: object) -> None:
        out.append(
            cls(
                event_id=event_id(command.command_id, len(out)),
                case_id=command.case_id,
                version=version + len(out) + 1,
                occurred_at=now,
                actor=actor or command.actor,
                causation_id=command.command_id,
                correlation_id=correlation,
                **fields,
            )
        )

    if isinstance(command, OpenProceeding):
        if state is not None:
            raise WrongStatus("the proceeding is already open", case_id=command.case_id, status=state.status)
        if command.actor.role is not Role.SYSTEM:
            raise NotAuthorised("a proceeding is opened by the ladder, not by hand", case_id=command.case_id)
        unit = policy.unit(command.unit)
        due, _ = add_time(policy, now, timedelta(hours=policy.accountability.explanation_hours), natural=False)
        emit(
            e.ProceedingOpened,
            subject_case_id=command.subject_case_id,
            unit=command.unit,
            responsible_role=command.responsible_role or (unit.responsible_role if unit else None),
            missed=command.missed,
            evidence=command.evidence,
            explanation_due_at=due,
        )
        return out
    if state is None:
        raise WrongStatus(f"{command.type} needs an open proceeding; none exists", case_id=command.case_id)
    if state.status is ProceedingStatus.CLOSED:
        raise WrongStatus(f"proceeding {state.proceeding_id} is closed", case_id=command.case_id, status=state.status)
    match command:
        case SubmitExplanation(text=text):
            if command.actor.role is not Role.UNIT or command.actor.unit_id != state.unit:
                raise NotAuthorised(
                    f"only {state.unit} may explain; {command.actor.unit_id} is not it",
                    case_id=command.case_id,
                    status=state.status,
                )
            if state.status is not ProceedingStatus.REFERRED:
                raise WrongStatus("the explanation window has closed", case_id=command.case_id, status=state.status)
            emit(e.ExplanationSubmitted, text=text)
        case ProceedingTick():
            if command.actor.role is not Role.SYSTEM:
                raise NotAuthorised("only the clock ticks", case_id=command.case_id, status=state.status)
            if state.status is ProceedingStatus.REFERRED and state.explanation_due_at <= now:
                emit(e.ExplanationMissed, due_at=state.explanation_due_at)
        case DecideProceeding(outcome=outcome, reason=reason):
            if command.actor.role is not Role.REVIEWER:
                raise NotAuthorised(
                    f"only a reviewer (纪检/督查室) decides; {command.actor.unit_id} acts as {command.actor.role}",
                    case_id=command.case_id,
                    status=state.status,
                )
            if state.status is ProceedingStatus.REFERRED:
                raise WrongStatus(
                    "wait for the unit's explanation or for its deadline to pass",
                    case_id=command.case_id,
                    status=state.status,
                )
            points = policy.accountability.points.get(outcome.value, 0.0)
            emit(e.ProceedingDecided, outcome=outcome.value, reason=reason, unit=state.unit, points=points)
            emit(e.ProceedingClosed)
        case _:
            assert_never(command)
    return out
