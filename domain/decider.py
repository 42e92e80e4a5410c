"""The case decider: `decide(state, command, now, policy) -> events` and nothing else.

Pure: no I/O, no clock, no randomness. Ids and the time arrive from outside (the workflow passes
`workflow.now()` and a `workflow.uuid4()` command id), so the same inputs give the same events, and
authorisation is part of the decision: a command the rules refuse raises a DomainError and yields
nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, assert_never

from rectify.domain.commands import (
    AbsorbCase,
    AttachDuplicate,
    ClaimCase,
    Command,
    DecideExtension,
    DecideSuspension,
    DisputeCase,
    MergeCase,
    ReassignCase,
    RecordFeedback,
    RejectCase,
    ReopenCase,
    ReportCase,
    RequestExtension,
    RequestSuspension,
    ResumeCase,
    SubmitRectification,
    Tick,
    UpholdDispatch,
    VerifyCase,
    WithdrawCase,
)
from rectify.domain.deadlines import Stage, add_time, reopen_window_end, stage_due, stage_limit
from rectify.domain.errors import (
    InvalidCommand,
    NotAuthorised,
    UnknownCategory,
    UnknownUnit,
    WindowClosed,
    WrongStatus,
)
from rectify.domain.escalation import ACTIVE_IN, due_items
from rectify.domain.events import (
    CaseAbsorbed,
    CaseClaimed,
    CaseClosed,
    CaseDispatched,
    CaseDisputed,
    CaseMerged,
    CaseReassigned,
    CaseRejected,
    CaseReopened,
    CaseReported,
    CaseResumed,
    CaseSuspended,
    CaseWithdrawn,
    DeadlineMissed,
    DeadlineSet,
    DispatchUpheld,
    DuplicateAttached,
    EscalationRaised,
    Event,
    ExtensionGranted,
    ExtensionRefused,
    ExtensionRequested,
    FeedbackRecorded,
    RectificationSubmitted,
    ReworkOrdered,
    SuspensionRefused,
    SuspensionRequested,
)
from rectify.domain.guards import require_lead_unit, require_role, require_status
from rectify.domain.policy import Policy
from rectify.domain.state import CaseState
from rectify.domain.text import check_text
from rectify.domain.types import OPEN_STATUSES, SYSTEM_ACTOR, Actor, CaseStatus, Role

_EVENT_ID_NAMESPACE = uuid.UUID("5b0e4a36-8f7e-4c55-9d0e-2f1f6c9a7e11")

S = CaseStatus
#: Before the unit claims: 不予立案 and withdrawal are still possible.
_BEFORE_CLAIM = frozenset({S.REPORTED, S.DISPATCHED, S.DISPUTED})
#: A pending extension or suspension is decided while the rectification clock runs: not on a case that was
#: submitted, closed, suspended or ended meanwhile (the request stays pending until the clock runs again).
_DECIDABLE = ACTIVE_IN[Stage.RECTIFY]


def event_id(command_id: str, index: int) -> str:
    """Event ids derive from the command id, so a retried command produces identical events."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{command_id}/{index}"))


def case_id_for(idempotency_key: str) -> str:
    """A report's case id derives from its intake idempotency key: a retried report finds its case."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"case/{idempotency_key}"))


class _Emitter:
    """Numbers the events of one decision and fills the shared envelope."""

    def __init__(self, command: Command, now: datetime, version: int, correlation_id: str) -> None:
        self.command, self.now, self.version, self.correlation_id = command, now, version, correlation_id
        self.events: list[Event] = []

    def __call__(self, cls: type[Event], actor: Actor | None = None, **payload: Any) -> None:
        # `payload` is checked where it belongs: by the event's model, field by field, when it is made.
        index = len(self.events)
        self.events.append(
            cls(
                event_id=event_id(self.command.command_id, index),
                case_id=self.command.case_id,
                version=self.version + index + 1,
                occurred_at=self.now,
                actor=actor or self.command.actor,
                causation_id=self.command.command_id,
                correlation_id=self.correlation_id,
                **payload,
            )
        )


def _set_deadline(emit: _Emitter, policy: Policy, stage: Stage, category: str, start: datetime) -> None:
    due, estimated = stage_due(policy, stage, category, start)
    emit(DeadlineSet, actor=SYSTEM_ACTOR, stage=stage.value, due_at=due, estimated=estimated)


def _decide_report(command: ReportCase, now: datetime, policy: Policy) -> list[Event]:
    if command.actor.role is Role.AUDITOR:
        require_role(None, command, Role.REPORTER, Role.DISPATCHER, Role.INSPECTOR, Role.UNIT, Role.SYSTEM)
    if command.category not in policy.categories:
        raise UnknownCategory(f"unknown category {command.category!r}; known: {', '.join(sorted(policy.categories))}")
    description = command.description.strip()
    if not description:
        raise InvalidCommand("description is empty: say what the problem is")
    if command.routing is None:
        raise InvalidCommand("the report was not routed: intake must route (category, location) first")
    if command.routing.lead_unit not in policy.units:
        raise UnknownUnit(f"routing names lead unit {command.routing.lead_unit!r}, which the city does not have")
    if command.case_id != case_id_for(command.idempotency_key):
        raise InvalidCommand("case id does not match the idempotency key")
    emit = _Emitter(command, now, 0, correlation_id=command.command_id)
    emit(
        CaseReported,
        idempotency_key=command.idempotency_key,
        category=command.category,
        description=description,
        location=command.location,
        address=command.address,
        channel=command.channel,
        evidence=command.evidence,
        media_url=command.media_url,
        point_id=command.point_id,
    )
    _set_deadline(emit, policy, Stage.DISPATCH, command.category, now)
    emit(CaseDispatched, actor=SYSTEM_ACTOR, routing=command.routing)  # the router dispatches at once
    _set_deadline(emit, policy, Stage.CLAIM, command.category, now)
    _set_deadline(emit, policy, Stage.RECTIFY, command.category, now)
    return emit.events


def _decide_tick(emit: _Emitter, state: CaseState, policy: Policy, now: datetime) -> None:
    """Every deadline missed and every rung reached since the last tick, in the order they came due."""
    for item in due_items(state, policy, now):
        if item.stage is not None:
            unit = state.lead_unit if item.stage in {Stage.CLAIM, Stage.RECTIFY} else None
            emit(DeadlineMissed, actor=SYSTEM_ACTOR, stage=item.stage, due_at=item.at, unit=unit)
        else:
            rung, lead = item.rung, state.lead_unit
            assert rung is not None and lead is not None, "a rung is reached only on a dispatched case"
            unit = policy.unit(lead)
            emit(
                EscalationRaised,
                actor=SYSTEM_ACTOR,
                level=rung.level,
                rung=rung.name,
                due_at=item.at,
                unit=lead,
                points=rung.points,
                responsible_role=unit.responsible_role if unit and rung.level == len(policy.ladder) else None,
            )


def _check_extension_cap(state: CaseState, command: Command, policy: Policy, hours: float) -> None:
    caps = policy.extensions
    if state.extension_pending is not None:
        raise WrongStatus("an extension request is already pending", case_id=state.case_id, status=state.status)
    if state.extensions_granted >= caps.max_count:
        raise WindowClosed(
            f"{state.extensions_granted} extensions granted already; the policy allows at most {caps.max_count}",
            case_id=state.case_id,
            status=state.status,
        )
    allowed = caps.max_total_ratio * policy.categories[state.category].rectify_limit_hours
    if state.extension_hours + hours > allowed:
        raise WindowClosed(
            f"extensions would total {state.extension_hours + hours:g} h; at most {allowed:g} h "
            f"({caps.max_total_ratio:g} × the category's {policy.categories[state.category].rectify_limit_hours:g} h)",
            case_id=state.case_id,
            status=state.status,
        )


def _decide_resume(emit: _Emitter, state: CaseState, policy: Policy, now: datetime, reason: str) -> None:
    """Clocks run again: each deadline not yet missed moves by the time the case was suspended."""
    suspended_at = state.suspended_at
    assert suspended_at is not None, "a suspended case records when it was suspended"
    paused_working = policy.calendar.working_time_between(suspended_at, now)
    ladder_running = "rectify" in state.deadlines and state.deadlines["rectify"].missed
    emit(CaseResumed, paused_hours=paused_working.total_seconds() / 3600 if ladder_running else 0.0, reason=reason)
    for stage, deadline in sorted(state.deadlines.items()):
        if deadline.missed or state.suspended_from not in ACTIVE_IN[stage]:
            continue
        _, natural = stage_limit(policy, Stage(stage), state.category)
        paused = now - suspended_at if natural else paused_working
        due, estimated = add_time(policy, deadline.due_at, paused, natural)
        emit(DeadlineSet, actor=SYSTEM_ACTOR, stage=stage, due_at=due, estimated=estimated)


def decide(state: CaseState | None, command: Command, now: datetime, policy: Policy) -> list[Event]:
    """The events that `command` produces on `state` at `now` under `policy`, or a DomainError."""
    check_text(command, policy.text_limits(), case_id=None if isinstance(command, ReportCase) else command.case_id)
    if isinstance(command, ReportCase):
        if state is not None:
            raise WrongStatus("the case is already reported", case_id=state.case_id, status=state.status)
        return _decide_report(command, now, policy)
    if state is None:
        raise WrongStatus(f"{command.type} needs an existing case; none is reported", case_id=command.case_id)
    if command.case_id != state.case_id:
        raise InvalidCommand(f"command is for case {command.case_id}", case_id=state.case_id, status=state.status)
    if command.actor.role is Role.AUDITOR:
        raise NotAuthorised("auditors only read", case_id=state.case_id, status=state.status)

    emit = _Emitter(command, now, state.version, state.correlation_id)
    match command:
        case ClaimCase():
            require_status(state, command, frozenset({S.DISPATCHED}))
            require_lead_unit(state, command)
            emit(CaseClaimed)
        case DisputeCase(reason=reason):
            require_status(state, command, frozenset({S.DISPATCHED, S.CLAIMED}))
            require_lead_unit(state, command)
            emit(CaseDisputed, reason=reason)
        case ReassignCase(to_unit=to_unit, reason=reason):
            require_status(state, command, frozenset({S.DISPATCHED, S.CLAIMED, S.DISPUTED}))
            require_role(state, command, Role.DISPATCHER)
            if to_unit not in policy.units:
                raise UnknownUnit(f"no unit {to_unit!r} in the city", case_id=state.case_id, status=state.status)
            if to_unit == state.lead_unit:
                raise InvalidCommand(
                    f"{to_unit} is already the lead unit; uphold the dispatch instead",
                    case_id=state.case_id,
                    status=state.status,
                )
            emit(CaseReassigned, from_unit=state.lead_unit, to_unit=to_unit, reason=reason)
            _set_deadline(emit, policy, Stage.CLAIM, state.category, now)
            _set_deadline(emit, policy, Stage.RECTIFY, state.category, now)
        case UpholdDispatch(reason=reason):
            require_status(state, command, frozenset({S.DISPUTED}))
            require_role(state, command, Role.DISPATCHER)
            emit(DispatchUpheld, reason=reason)
        case SubmitRectification(evidence=evidence, note=note):
            require_status(state, command, frozenset({S.CLAIMED}))
            require_lead_unit(state, command)
            emit(RectificationSubmitted, evidence=evidence, note=note)
            _set_deadline(emit, policy, Stage.VERIFY, state.category, now)
        case VerifyCase(passed=passed, note=note, evidence=evidence):
            require_status(state, command, frozenset({S.SUBMITTED}))
            require_role(state, command, Role.INSPECTOR, Role.DISPATCHER)
            if passed:
                worked = policy.calendar.working_time_between(state.opened_at, now).total_seconds() / 3600
                emit(CaseClosed, note=note, working_hours=round(worked, 4), evidence=evidence)
                _set_deadline(emit, policy, Stage.FEEDBACK, state.category, now)
            else:
                emit(ReworkOrdered, note=note, evidence=evidence)
                _set_deadline(emit, policy, Stage.RECTIFY, state.category, now)
        case RejectCase(reason=reason):
            require_status(state, command, _BEFORE_CLAIM)
            require_role(state, command, Role.DISPATCHER)
            emit(CaseRejected, reason=reason)
        case WithdrawCase(reason=reason):
            require_status(state, command, _BEFORE_CLAIM)
            require_role(state, command, Role.REPORTER, Role.DISPATCHER)
            emit(CaseWithdrawn, reason=reason)
        case MergeCase(into_case_id=into, target_status=target_status):
            require_status(state, command, OPEN_STATUSES - {S.SUBMITTED})
            require_role(state, command, Role.DISPATCHER)
            if into == state.case_id:
                raise InvalidCommand("a case cannot be merged into itself", case_id=state.case_id, status=state.status)
            if target_status is None or target_status not in OPEN_STATUSES:
                found = f"is {target_status}" if target_status else "was not found"
                raise WrongStatus(
                    f"merge needs an open target case; {into} {found}", case_id=state.case_id, status=state.status
                )
            emit(CaseMerged, into_case_id=into)
        case AbsorbCase(merged_case_id=merged):
            # A fact already recorded on the merged case: taken in any status, and once.
            require_role(state, command, Role.DISPATCHER, Role.SYSTEM)
            if merged == state.case_id:
                raise InvalidCommand("a case cannot absorb itself", case_id=state.case_id, status=state.status)
            if merged not in state.absorbed:
                emit(CaseAbsorbed, merged_case_id=merged)
        case AttachDuplicate():
            require_status(state, command, OPEN_STATUSES)
            emit(
                DuplicateAttached,
                idempotency_key=command.idempotency_key,
                description=command.description,
                location=command.location,
                channel=command.channel,
                distance_m=command.distance_m,
                point_id=command.point_id,
            )
        case ReopenCase(reason=reason):
            require_status(state, command, frozenset({S.CLOSED}))
            require_role(state, command, Role.REPORTER, Role.DISPATCHER, Role.INSPECTOR)
            closed_at = state.closed_at
            assert closed_at is not None, "a closed case records when it closed"
            window_end = reopen_window_end(policy, closed_at)
            if now > window_end:
                raise WindowClosed(
                    f"reopening is allowed until {window_end.isoformat()} "
                    f"({policy.reopen_window_days} days after closure)",
                    case_id=state.case_id,
                    status=state.status,
                )
            emit(CaseReopened, reason=reason)
            _set_deadline(emit, policy, Stage.RECTIFY, state.category, now)
        case Tick():
            require_role(state, command, Role.SYSTEM)
            _decide_tick(emit, state, policy, now)
        case RequestExtension(hours=hours, reason=reason):
            require_status(state, command, frozenset({S.DISPATCHED, S.CLAIMED}))
            require_lead_unit(state, command)
            _check_extension_cap(state, command, policy, hours)
            emit(ExtensionRequested, hours=hours, reason=reason)
        case DecideExtension(granted=granted, reason=reason):
            require_status(state, command, _DECIDABLE)
            require_role(state, command, Role.DISPATCHER)
            if state.extension_pending is None:
                raise WrongStatus("no extension request is pending", case_id=state.case_id, status=state.status)
            if granted:
                hours = state.extension_pending
                _, natural = stage_limit(policy, Stage.RECTIFY, state.category)
                due, estimated = add_time(policy, max(state.due_at or now, now), timedelta(hours=hours), natural)
                emit(ExtensionGranted, hours=hours, reason=reason)
                emit(DeadlineSet, actor=SYSTEM_ACTOR, stage=Stage.RECTIFY.value, due_at=due, estimated=estimated)
            else:
                emit(ExtensionRefused, reason=reason)
        case RequestSuspension(reason=reason):
            require_status(state, command, frozenset({S.DISPATCHED, S.CLAIMED, S.DISPUTED}))
            if command.actor.role is not Role.DISPATCHER:
                require_lead_unit(state, command)
            if state.suspension_pending:
                raise WrongStatus("a suspension request is already pending", case_id=state.case_id, status=state.status)
            emit(SuspensionRequested, reason=reason)
        case DecideSuspension(approved=approved, reason=reason):
            require_status(state, command, _DECIDABLE)
            require_role(state, command, Role.DISPATCHER)
            if not state.suspension_pending:
                raise WrongStatus("no suspension request is pending", case_id=state.case_id, status=state.status)
            emit(CaseSuspended if approved else SuspensionRefused, reason=reason)
        case ResumeCase(reason=reason):
            require_status(state, command, frozenset({S.SUSPENDED}))
            require_role(state, command, Role.DISPATCHER)
            _decide_resume(emit, state, policy, now, reason)
        case RecordFeedback(satisfied=satisfied, note=note):
            require_status(state, command, frozenset({S.CLOSED}))
            # The reporter answers from their own follow link (web/snap.py), or the office records the call.
            require_role(state, command, Role.REPORTER, Role.DISPATCHER, Role.INSPECTOR)
            if state.feedback_at is not None:
                raise WrongStatus("feedback was already recorded", case_id=state.case_id, status=state.status)
            emit(FeedbackRecorded, satisfied=satisfied, note=note)
        case _:
            assert_never(command)
    return emit.events
