"""How units, dispatchers and inspectors act in a simulation: a seeded model, the same for every engine.

Each unit gets a profile (most are diligent, some slack, a few troubled). What happens next on a case
is a pure function of the seed, the case as it stands and the moment: `plan` is asked after every
human step, `after_tick` after a deadline or rung fired. Delays count working time on the city's
calendar, so nobody claims a case at three in the morning.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from rectify.domain import commands as c
from rectify.domain.accountability import (
    DecideProceeding,
    Outcome,
    ProceedingCommand,
    ProceedingState,
    ProceedingStatus,
    SubmitExplanation,
)
from rectify.domain.accountability import next_due as proceeding_due
from rectify.domain.escalation import next_due
from rectify.domain.policy import LimitKind, Policy, UnitKind
from rectify.domain.state import CaseState
from rectify.domain.types import Actor, CaseStatus, EvidenceRef, Role

S = CaseStatus
_IDS = uuid.UUID("9d3c1f0e-51a4-4c6b-8a7e-3b2f6d0c4e21")
#: Escalation level at which a unit that kept silent finally acts (二曝光: the case goes in the bulletin).
WAKES_AT_LEVEL = 2
#: A planned step never lands just before a due moment: engines would disagree on which came first.
_GUARD = timedelta(seconds=5)
#: What people write when they act (data, so in Chinese).
REASONS = {
    "reject": "不属于整改范围，不予立案",
    "dispute": "不属于本单位职责范围，申请退单",
    "reassign": "退单理由成立，改派",
    "uphold": "属地职责明确，维持派遣",
    "extend": "需协调多部门联合整改，申请延期",
    "suspend": "现场被其他部门封闭，暂无法整改",
    "resume": "封闭施工结束，恢复计时",
    "reopen": "回访不满意，重新整改",
    "explain": "因人手不足未能按期整改，现已增派力量并完成整改",
    "decide": "经审查，依据问责办法作出处理",
}


@dataclass(frozen=True)
class UnitProfile:
    """How a unit tends to behave. Probabilities per case; `speed` is the share of the limit it uses."""

    kind: str
    claim_on_time: float
    dispute: float
    silent: float
    speed: tuple[float, float]
    quality: float
    extension: float
    #: Share of cases the unit never touches at all: they climb the whole ladder to 问责.
    ignore: float = 0.0


ARCHETYPES: dict[str, UnitProfile] = {
    "diligent": UnitProfile("diligent", 0.95, 0.04, 0.01, (0.2, 0.9), 0.92, 0.04, 0.005),
    "slack": UnitProfile("slack", 0.7, 0.08, 0.06, (0.5, 1.6), 0.8, 0.12, 0.03),
    "troubled": UnitProfile("troubled", 0.45, 0.15, 0.2, (0.9, 3.0), 0.65, 0.2, 0.15),
}


@dataclass(frozen=True)
class Planned:
    """The next step someone will take on a case, and when."""

    at: datetime
    command: c.Command | ProceedingCommand


def unit_profiles(policy: Policy, seed: int) -> dict[str, UnitProfile]:
    names, weights = ["diligent", "slack", "troubled"], [0.6, 0.3, 0.1]
    return {
        unit_id: ARCHETYPES[random.Random(f"{seed}/unit/{unit_id}").choices(names, weights)[0]]
        for unit_id in sorted(policy.units)
    }


class Behaviour:
    def __init__(self, policy: Policy, seed: int) -> None:
        self.policy, self.seed = policy, seed
        self.profiles = unit_profiles(policy, seed)
        dispatcher = policy.dispatcher_units[0] if policy.dispatcher_units else "office_command"
        self.dispatcher = Actor(unit_id=dispatcher, role=Role.DISPATCHER)
        inspector = "office_inspection" if "office_inspection" in policy.units else dispatcher
        self.inspector = Actor(unit_id=inspector, role=Role.INSPECTOR)
        self._alternatives = {kind: sorted(u.id for u in policy.units.values() if u.kind is kind) for kind in UnitKind}

    # -- the two questions an engine asks --------------------------------------------------------
    def plan(self, state: CaseState, now: datetime) -> Planned | None:
        """The next step after a human one (or the report), or None when nobody will act."""
        rng = random.Random(f"{self.seed}/{state.idempotency_key}/{state.version}")
        step = self._next(state, now, rng)
        return None if step is None else self._clear_of_due(state, step)

    def after_tick(self, state: CaseState, now: datetime, pending: Planned | None) -> Planned | None:
        """After a deadline or rung fired: keep the plan, or wake a unit that kept silent until exposure."""
        if pending is None:
            return self.plan(state, now)
        return self._clear_of_due(state, pending)

    def plan_proceeding(self, state: ProceedingState, now: datetime) -> Planned | None:
        """问责: most units explain in time (the troubled ones less often); the reviewer then decides."""
        rng = random.Random(f"{self.seed}/{state.proceeding_id}/{state.version}")
        profile = self.profiles.get(state.unit, ARCHETYPES["slack"])
        reviewer = Actor(unit_id=self.inspector.unit_id, role=Role.REVIEWER)
        match state.status:
            case ProceedingStatus.REFERRED:
                if rng.random() > profile.quality:
                    return None  # says nothing: the explanation deadline passes and that is recorded
                step = self._at_stream(
                    state.proceeding_id,
                    state.version,
                    now,
                    rng,
                    1,
                    18,
                    SubmitExplanation,
                    Actor(unit_id=state.unit, role=Role.UNIT),
                    text=REASONS["explain"],
                )
            case ProceedingStatus.EXPLAINED | ProceedingStatus.EXPLANATION_MISSED:
                lenient = state.status is ProceedingStatus.EXPLAINED
                weights = [0.3, 0.5, 0.15, 0.05] if lenient else [0.0, 0.3, 0.5, 0.2]
                outcome = rng.choices(list(Outcome), weights)[0]
                step = self._at_stream(
                    state.proceeding_id,
                    state.version,
                    now,
                    rng,
                    2,
                    12,
                    DecideProceeding,
                    reviewer,
                    outcome=outcome,
                    reason=REASONS["decide"],
                )
            case _:
                return None
        return _clear_of(proceeding_due(state), step)

    # -- the model -----------------------------------------------------------------------------------
    def _next(self, state: CaseState, now: datetime, rng: random.Random) -> Planned | None:
        lead = state.lead_unit
        if lead is None:
            return None  # never dispatched: no unit holds it (the router places every report it accepts)
        profile = self.profiles.get(lead, ARCHETYPES["slack"])
        unit = Actor(unit_id=lead, role=Role.UNIT)
        ignored = self._draw(state, "ignored") < profile.ignore
        silent = ignored or (self._silent(state, profile) and state.escalation_level < WAKES_AT_LEVEL)
        woken = not ignored and self._silent(state, profile) and state.escalation_level >= WAKES_AT_LEVEL
        match state.status:
            case S.DISPATCHED:
                if state.reassign_count == 0 and rng.random() < 0.02:
                    return self._at(state, now, rng, 0.1, 0.8, c.RejectCase, self.dispatcher, reason=REASONS["reject"])
                if state.reassign_count == 0 and rng.random() < profile.dispute:
                    return self._at(state, now, rng, 0.2, 1.5, c.DisputeCase, unit, reason=REASONS["dispute"])
                if silent:
                    return None
                low, high = (0.05, 0.5) if woken else (0.1, 1.8) if rng.random() < profile.claim_on_time else (2.2, 6)
                return self._at(state, now, rng, low, high, c.ClaimCase, unit)
            case S.DISPUTED:
                others = [u for u in self._alternatives[self.policy.units[lead].kind] if u != lead]
                if others and rng.random() < 0.65:
                    return self._at(
                        state,
                        now,
                        rng,
                        0.3,
                        2,
                        c.ReassignCase,
                        self.dispatcher,
                        to_unit=rng.choice(others),
                        reason=REASONS["reassign"],
                    )
                return self._at(state, now, rng, 0.3, 2, c.UpholdDispatch, self.dispatcher, reason=REASONS["uphold"])
            case S.CLAIMED:
                return self._while_rectifying(state, now, rng, profile, unit, silent, woken)
            case S.SUSPENDED:
                return self._at(state, now, rng, 2, 10, c.ResumeCase, self.dispatcher, reason=REASONS["resume"])
            case S.SUBMITTED:
                passed = rng.random() < profile.quality
                note = "现场核查已整改到位" if passed else "现场核查未整改到位，返工"
                return self._at(state, now, rng, 0.3, 5, c.VerifyCase, self.inspector, passed=passed, note=note)
            case S.CLOSED:
                if state.feedback_at is None:
                    satisfied = rng.random() < 0.92
                    return self._at(
                        state,
                        now,
                        rng,
                        0.5,
                        6,
                        c.RecordFeedback,
                        self.dispatcher,
                        satisfied=satisfied,
                        note="市民满意" if satisfied else "市民反映问题仍存在",
                    )
                if state.satisfied is False and state.rework_count < 2 and rng.random() < 0.5:
                    return self._at(state, now, rng, 0.1, 1, c.ReopenCase, self.dispatcher, reason=REASONS["reopen"])
                return None
            case _:
                return None

    def _while_rectifying(
        self,
        state: CaseState,
        now: datetime,
        rng: random.Random,
        profile: UnitProfile,
        unit: Actor,
        silent: bool,
        woken: bool,
    ) -> Planned | None:
        if state.extension_pending is not None:
            granted = rng.random() < 0.75
            return self._at(
                state,
                now,
                rng,
                0.2,
                1.5,
                c.DecideExtension,
                self.dispatcher,
                granted=granted,
                reason="同意延期" if granted else "理由不充分，不予延期",
            )
        if state.suspension_pending:
            approved = rng.random() < 0.8
            return self._at(
                state,
                now,
                rng,
                0.2,
                2,
                c.DecideSuspension,
                self.dispatcher,
                approved=approved,
                reason="同意挂起" if approved else "不符合挂起条件",
            )
        if silent:
            return None
        category = self.policy.categories[state.category]
        limit = category.rectify_limit_hours
        if not woken and state.extensions_granted == 0 and rng.random() < profile.extension:
            hours = max(1.0, round(limit * rng.uniform(0.3, 0.8)))
            if hours <= self.policy.extensions.max_total_ratio * limit and self.policy.extensions.max_count > 0:
                return self._at(
                    state, now, rng, 0.1, 0.6, c.RequestExtension, unit, hours=hours, reason=REASONS["extend"]
                )
        if not woken and rng.random() < 0.02:
            return self._at(state, now, rng, 0.1, 1, c.RequestSuspension, unit, reason=REASONS["suspend"])
        share = rng.uniform(0.05, 0.3) if woken else rng.uniform(*profile.speed)
        natural = category.limit_kind is LimitKind.NATURAL
        evidence = self._photo(state)
        return self._at(
            state,
            now,
            rng,
            share * limit,
            share * limit,
            c.SubmitRectification,
            unit,
            natural=natural,
            evidence=(evidence,),
            note="已整改，附整改后照片",
        )

    # -- helpers -------------------------------------------------------------------------------------
    def _silent(self, state: CaseState, profile: UnitProfile) -> bool:
        """Whether this unit keeps silent on this case until exposure: drawn once per (case, unit), not per step."""
        return self._draw(state, "silent") < profile.silent

    def _draw(self, state: CaseState, what: str) -> float:
        return random.Random(f"{self.seed}/{state.idempotency_key}/{state.lead_unit}/{what}").random()

    def _at(
        self,
        state: CaseState,
        now: datetime,
        rng: random.Random,
        low: float,
        high: float,
        command: type[c.CommandBase],
        actor: Actor,
        *,
        natural: bool = False,
        **fields: object,
    ) -> Planned:
        return self._at_stream(
            state.case_id, state.version, now, rng, low, high, command, actor, natural=natural, **fields
        )

    def _at_stream(
        self,
        stream: str,
        version: int,
        now: datetime,
        rng: random.Random,
        low: float,
        high: float,
        command: type[c.CommandBase],
        actor: Actor,
        *,
        natural: bool = False,
        **fields: object,
    ) -> Planned:
        """A step `low`-`high` working hours from now, on a whole minute plus 5-55 s."""
        delay = timedelta(hours=rng.uniform(low, high))
        at = now + delay if natural else self.policy.calendar.add_working_time(now, delay)
        at = at.replace(second=rng.randrange(5, 56), microsecond=0)
        if at <= now:
            at += timedelta(minutes=1)
        command_id = str(uuid.uuid5(_IDS, f"{self.seed}/{stream}/{version}/{command.__name__}"))
        made = command(command_id=command_id, case_id=stream, actor=actor, **fields)
        return Planned(at, cast("c.Command | ProceedingCommand", made))  # every command class is one of them

    def _clear_of_due(self, state: CaseState, step: Planned) -> Planned:
        return _clear_of(next_due(state, self.policy), step)

    @staticmethod
    def _photo(state: CaseState) -> EvidenceRef:
        data = f"simulated photo {state.case_id}/{state.version}".encode()
        return EvidenceRef(sha256=hashlib.sha256(data).hexdigest(), size=len(data), media_type="image/jpeg")


def _clear_of(due: datetime | None, step: Planned) -> Planned:
    """The step, moved past `due` when it would land just before it, keeping its seconds (5-55 past the minute).

    The seconds keep every planned moment 5 s clear of a whole minute, where the calendar's periods turn.
    """
    if due is None or not step.at < due <= step.at + _GUARD:
        return step
    later = due.replace(second=step.at.second, microsecond=0)
    while later < due + _GUARD:
        later += timedelta(minutes=1)
    return Planned(later, step.command)
