"""An inspection point's record: `decide_point(state, command, now, policy)` / `evolve_point`, and its readiness.

Pure like the case decider. A point's stream holds every inspection of it, item by item, and the cases its
failures opened. A failed item stays open until a later inspection passes it. Readiness (测评 readiness, the
battle map's colour) is a pure function of the point's state, the cases it opened and the moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, assert_never, overload

from pydantic import Field, TypeAdapter

from rectify.domain import inspection_events as ie
from rectify.domain.commands import CommandBase
from rectify.domain.decider import event_id
from rectify.domain.errors import InvalidCommand, NotAuthorised, UnknownCategory, WrongStatus
from rectify.domain.inspection import InspectionPoint, point_stream
from rectify.domain.inspection_events import ItemResult, PointEvent
from rectify.domain.policy import Policy
from rectify.domain.text import Text, TextKind, check_text
from rectify.domain.types import EvidenceRef, Frozen, Role

Note = Annotated[str, Text(TextKind.NOTE)]


class ItemAnswer(Frozen):
    """The inspector's answer for one checklist item: pass, or fail with at least one photo and a note."""

    item: Annotated[str, Field(min_length=1, max_length=60)]
    passed: bool
    evidence: tuple[EvidenceRef, ...] = ()
    note: Note = ""


class RecordInspection(CommandBase):
    """Sent for a round's point: the point as planned, and an answer for every item of its checklist."""

    type: Literal["record_inspection"] = "record_inspection"
    point: InspectionPoint
    round_id: Annotated[str, Field(min_length=1, max_length=100)]
    answers: Annotated[tuple[ItemAnswer, ...], Field(min_length=1)]


class LinkFailureCase(CommandBase):
    """The system notes the case a failed item opened (the intake's answer)."""

    type: Literal["link_failure_case"] = "link_failure_case"
    item: Annotated[str, Field(min_length=1, max_length=60)]
    opened_case_id: Annotated[str, Field(min_length=1, max_length=100)]
    round_id: Annotated[str, Field(min_length=1, max_length=100)]


PointCommand = Annotated[RecordInspection | LinkFailureCase, Field(discriminator="type")]
POINT_COMMAND_ADAPTER: TypeAdapter[PointCommand] = TypeAdapter(PointCommand)


class OpenFailure(Frozen):
    item: str
    since: datetime
    round_id: str
    note: str = ""
    evidence: tuple[EvidenceRef, ...] = ()
    case_id: str | None = None


class PointState(Frozen):
    point_id: str
    version: int
    category: str
    checks: int = 0
    last_checked_at: datetime | None = None
    last_round_id: str | None = None
    last_inspector: str | None = None
    #: Failed items not passed since, by item code.
    open_failures: dict[str, OpenFailure] = Field(default_factory=dict)
    #: Every case a failure of this point opened, oldest first.
    cases: tuple[str, ...] = ()


def check_answers(point: InspectionPoint, answers: Sequence[ItemAnswer], policy: Policy, stream: str) -> None:
    """Every item of the point category's checklist answered once, nothing else; a failure with a photo and a note."""
    category = policy.inspection.point_categories.get(point.category)
    if category is None:
        known = ", ".join(sorted(policy.inspection.point_categories)) or "none"
        raise UnknownCategory(f"unknown point category {point.category!r}; known: {known}", case_id=stream)
    given = [answer.item for answer in answers]
    expected = [item.code for item in category.items]
    if unknown := sorted(set(given) - set(expected)):
        raise InvalidCommand(f"items {unknown} are not on the {category.name} checklist", case_id=stream)
    if repeated := sorted({code for code in given if given.count(code) > 1}):
        raise InvalidCommand(f"items {repeated} are answered more than once", case_id=stream)
    if missing := [code for code in expected if code not in given]:
        raise InvalidCommand(f"items {missing} of the checklist are not answered", case_id=stream)
    for answer in answers:
        if not answer.passed and (not answer.evidence or not answer.note.strip()):
            raise InvalidCommand(f"item {answer.item} failed: a failure needs a photo and a note", case_id=stream)


def decide_point(state: PointState | None, command: PointCommand, now: datetime, policy: Policy) -> list[PointEvent]:
    stream = command.case_id
    check_text(command, policy.text_limits(), case_id=stream)
    version = state.version if state else 0
    out: list[PointEvent] = []

    def emit(cls: type, **fields: object) -> None:
        out.append(
            cls(
                event_id=event_id(command.command_id, len(out)),
                case_id=stream,
                version=version + len(out) + 1,
                occurred_at=now,
                actor=command.actor,
                causation_id=command.command_id,
                correlation_id=command.command_id,
                **fields,
            )
        )

    match command:
        case RecordInspection(point=point, round_id=round_id, answers=answers):
            if command.actor.role not in {Role.INSPECTOR, Role.DISPATCHER}:
                raise NotAuthorised(f"an inspector records a point, not a {command.actor.role}", case_id=stream)
            if stream != point_stream(point.point_id):
                raise InvalidCommand(f"point {point.point_id} is recorded in its own stream, not {stream}")
            check_answers(point, answers, policy, stream)
            results = tuple(
                ItemResult(item=a.item, passed=a.passed, evidence=a.evidence, note=a.note.strip()) for a in answers
            )
            emit(
                ie.PointInspected, point_id=point.point_id, round_id=round_id, category=point.category, results=results
            )
        case LinkFailureCase(item=item, opened_case_id=opened, round_id=round_id):
            if command.actor.role is not Role.SYSTEM:
                raise NotAuthorised("a failure's case is linked by the system, which opened it", case_id=stream)
            if state is None:
                raise WrongStatus("the point has no record: nothing failed on it", case_id=stream)
            if opened in state.cases:
                return []  # linked already: the intake answered a retried report with the same case
            emit(ie.FailureCaseOpened, item=item, case_id_opened=opened, round_id=round_id)
        case _:
            assert_never(command)
    return out


def evolve_point(state: PointState | None, event: PointEvent) -> PointState:
    at = event.occurred_at
    match event:
        case ie.PointInspected(point_id=point_id, round_id=round_id, category=category, results=results):
            before = state or PointState(point_id=point_id, version=0, category=category)
            failures = dict(before.open_failures)
            for result in results:
                if result.passed:
                    failures.pop(result.item, None)
                elif result.item not in failures:
                    failures[result.item] = OpenFailure(
                        item=result.item, since=at, round_id=round_id, note=result.note, evidence=result.evidence
                    )
            return before.model_copy(
                update={
                    "version": event.version,
                    "category": category,
                    "checks": before.checks + 1,
                    "last_checked_at": at,
                    "last_round_id": round_id,
                    "last_inspector": event.actor.unit_id,
                    "open_failures": failures,
                }
            )
        case ie.FailureCaseOpened(item=item, case_id_opened=opened):
            if state is None:
                raise ValueError("a point's stream starts with its first inspection")
            changes: dict[str, Any] = {"version": event.version, "cases": (*state.cases, opened)}
            failure = state.open_failures.get(item)
            if failure is not None and failure.case_id is None:
                changes["open_failures"] = state.open_failures | {item: failure.model_copy(update={"case_id": opened})}
            return state.replaced(changes)
        case _:
            assert_never(event)


@overload
def fold_point(events: Sequence[PointEvent], state: PointState) -> PointState: ...
@overload
def fold_point(events: Sequence[PointEvent], state: PointState | None = None) -> PointState | None: ...
def fold_point(events: Sequence[PointEvent], state: PointState | None = None) -> PointState | None:
    for event in events:
        state = evolve_point(state, event)
    return state


class Readiness(StrEnum):
    READY = "ready"  # green: checked within the window, nothing failing, no overdue case
    STALE = "stale"  # amber: not checked within the window (or never), nothing known to be failing
    NOT_READY = "not_ready"  # red: a failed item still open, or a case of the point overdue


class Reason(StrEnum):
    NEVER_CHECKED = "never_checked"
    NOT_CHECKED_IN_WINDOW = "not_checked_in_window"
    FAILED_ITEM_OPEN = "failed_item_open"
    OVERDUE_CASE = "overdue_case"


READINESS_LABELS = {Readiness.READY: "达标", Readiness.STALE: "待检查", Readiness.NOT_READY: "未达标"}
REASON_LABELS = {
    Reason.NEVER_CHECKED: "从未检查",
    Reason.NOT_CHECKED_IN_WINDOW: "超过检查周期未检查",
    Reason.FAILED_ITEM_OPEN: "有未通过的检查项",
    Reason.OVERDUE_CASE: "有超期未办结的案件",
}


# Readiness's inputs and answer are plain frozen dataclasses, not models: the battle map makes one of each per point
# and per case it reads (thousands a page), from rows the store has already typed, so there is nothing to validate.
@dataclass(frozen=True, slots=True)
class CaseOnPoint:
    """What readiness needs of a case the point opened: is it still open, and past its deadline?"""

    case_id: str
    open: bool
    due_at: datetime | None = None
    escalation_level: int = 0


@dataclass(frozen=True, slots=True)
class PointReadiness:
    point_id: str
    level: Readiness
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class PointFacts:
    """What readiness needs of a point's record: when it was last checked and which items still fail."""

    last_checked_at: datetime | None = None
    failed_items: tuple[str, ...] = ()


def facts_of(state: PointState | PointFacts | None) -> PointFacts:
    if state is None or isinstance(state, PointFacts):
        return state or PointFacts()
    return PointFacts(last_checked_at=state.last_checked_at, failed_items=tuple(sorted(state.open_failures)))


def case_overdue(case: CaseOnPoint, now: datetime) -> bool:
    """An open case past its rectification deadline, or already on the ladder."""
    return case.open and (case.escalation_level > 0 or (case.due_at is not None and case.due_at < now))


def readiness(
    point_id: str,
    state: PointState | PointFacts | None,
    cases: Sequence[CaseOnPoint],
    now: datetime,
    policy: Policy,
) -> PointReadiness:
    """The point's readiness at `now`: red beats amber beats green, with every reason that applies."""
    facts = facts_of(state)
    reasons: list[Reason] = []
    if facts.failed_items:
        reasons.append(Reason.FAILED_ITEM_OPEN)
    if any(case_overdue(c, now) for c in cases):
        reasons.append(Reason.OVERDUE_CASE)
    window = timedelta(days=policy.inspection.ready_window_days)
    if facts.last_checked_at is None:
        reasons.append(Reason.NEVER_CHECKED)
    elif facts.last_checked_at < now - window:
        reasons.append(Reason.NOT_CHECKED_IN_WINDOW)
    red = {Reason.FAILED_ITEM_OPEN, Reason.OVERDUE_CASE}
    level = Readiness.NOT_READY if red & set(reasons) else Readiness.STALE if reasons else Readiness.READY
    return PointReadiness(point_id=point_id, level=level, reasons=tuple(reasons))
