"""Random command sequences against the decider: the invariants that must hold whatever happens.

Every command of domain/commands.py is issued, by the actor the rule asks for or by anyone at all, while
time moves on. Timers are modelled as the case workflow runs them: whenever time passes a due moment a
Tick is decided exactly at that moment, and once more right after every accepted command. The calendar is
the sample city's (holidays and make-up days known for 2025-2026 only), and some cases start late in
December, so deadlines reach into 2027 where they must be flagged estimated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rectify.city import DEFAULT_CITY_DIR, load_city
from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.errors import DomainError
from rectify.domain.escalation import ACTIVE_IN, next_due
from rectify.domain.events import Event, event_body, parse_event
from rectify.domain.policy import LimitKind
from rectify.domain.state import CaseState, evolve, fold
from rectify.domain.types import FINAL_STATUSES, OPEN_STATUSES, SYSTEM_ACTOR, Actor, CaseStatus, Channel, Point, Role
from tests.support.given import (
    DEPT,
    LEAD,
    OTHER,
    POLICY,
    auditor,
    cmd,
    dispatcher,
    inspector,
    local,
    photo,
    report,
    reporter,
    unit,
)

S, R = CaseStatus, Role
CITY_CALENDAR = load_city(DEFAULT_CITY_DIR).policy.calendar
RULES = POLICY.model_copy(update={"calendar": CITY_CALENDAR})
KNOWN_YEARS = CITY_CALENDAR.known_years
#: Before National Day (holidays and make-up days); an ordinary week; days before 2027, which nobody knows yet.
STARTS = [local("2026-09-28 09:30"), local("2026-11-24 09:30"), local("2026-12-28 16:00")]

OTHERS = [unit(LEAD), unit(OTHER), unit(DEPT), dispatcher(), inspector(), reporter(), auditor(), SYSTEM_ACTOR]
#: Mostly the actor the rule asks for, so sequences go deep (closed, reopened, suspended); often anyone at all.
ACTORS = st.sampled_from(["right"] * 24 + OTHERS)
KINDS = [
    "report",
    "claim",
    "dispute",
    "reassign",
    "uphold",
    "submit",
    "verify_pass",
    "verify_fail",
    "reject",
    "withdraw",
    "merge",
    "attach",
    "reopen",
    "tick",
    "extend",
    "grant",
    "refuse",
    "suspend",
    "approve",
    "disapprove",
    "resume",
    "feedback",
]

UNIT_LEAD = "lead"  # the lead unit, acting as a unit
#: Who may do what when a command is accepted, stated independently of the decider.
MAY = {
    "claim": {UNIT_LEAD},
    "dispute": {UNIT_LEAD},
    "submit": {UNIT_LEAD},
    "extend": {UNIT_LEAD},
    "suspend": {UNIT_LEAD, R.DISPATCHER},
    "reassign": {R.DISPATCHER},
    "uphold": {R.DISPATCHER},
    "reject": {R.DISPATCHER},
    "merge": {R.DISPATCHER},
    "grant": {R.DISPATCHER},
    "refuse": {R.DISPATCHER},
    "approve": {R.DISPATCHER},
    "disapprove": {R.DISPATCHER},
    "resume": {R.DISPATCHER},
    "verify_pass": {R.INSPECTOR, R.DISPATCHER},
    "verify_fail": {R.INSPECTOR, R.DISPATCHER},
    "reopen": {R.REPORTER, R.DISPATCHER, R.INSPECTOR},
    "withdraw": {R.REPORTER, R.DISPATCHER},
    "feedback": {R.DISPATCHER, R.INSPECTOR},
    "tick": {R.SYSTEM},
    "attach": {R.REPORTER, R.DISPATCHER, R.INSPECTOR, R.UNIT, R.SYSTEM, UNIT_LEAD},
}
#: In which statuses each command may be accepted.
WHEN = {
    "claim": {S.DISPATCHED},
    "dispute": {S.DISPATCHED, S.CLAIMED},
    "reassign": {S.DISPATCHED, S.CLAIMED, S.DISPUTED},
    "uphold": {S.DISPUTED},
    "submit": {S.CLAIMED},
    "verify_pass": {S.SUBMITTED},
    "verify_fail": {S.SUBMITTED},
    "reject": {S.REPORTED, S.DISPATCHED, S.DISPUTED},
    "withdraw": {S.REPORTED, S.DISPATCHED, S.DISPUTED},
    "merge": OPEN_STATUSES - {S.SUBMITTED},
    "attach": OPEN_STATUSES,
    "reopen": {S.CLOSED},
    "extend": {S.DISPATCHED, S.CLAIMED},
    "grant": ACTIVE_IN["rectify"],
    "refuse": ACTIVE_IN["rectify"],
    "suspend": {S.DISPATCHED, S.CLAIMED, S.DISPUTED},
    "approve": {S.DISPATCHED, S.CLAIMED, S.DISPUTED},
    "disapprove": {S.DISPATCHED, S.CLAIMED, S.DISPUTED},
    "resume": {S.SUSPENDED},
    "feedback": {S.CLOSED},
    "report": set(),
    "tick": set(S),
}


def right_actor(kind: str, state: CaseState) -> Actor:
    if kind in {"claim", "dispute", "submit", "extend", "suspend"}:
        return unit(state.lead_unit)
    if kind in {"reassign", "uphold", "reject", "merge", "grant", "refuse", "approve", "disapprove", "resume"}:
        return dispatcher()
    if kind in {"verify_pass", "verify_fail", "feedback"}:
        return inspector()
    if kind == "tick":
        return SYSTEM_ACTOR
    return reporter()


def build(kind: str, actor: Actor, state: CaseState, pick: Callable[[list], object]) -> c.Command:
    """The command of `kind`; its own fields (a unit, hours, a target) are drawn only when it has them."""
    match kind:
        case "report":
            return report(actor=actor, category=state.category)
        case "claim":
            return cmd(c.ClaimCase, actor)
        case "dispute":
            return cmd(c.DisputeCase, actor, reason="退单")
        case "reassign":
            return cmd(c.ReassignCase, actor, to_unit=pick([OTHER, DEPT, LEAD, "nowhere"]), reason="改派")
        case "uphold":
            return cmd(c.UpholdDispatch, actor, reason="维持")
        case "submit":
            return cmd(c.SubmitRectification, actor, evidence=(photo(),))
        case "verify_pass" | "verify_fail":
            return cmd(c.VerifyCase, actor, passed=kind == "verify_pass")
        case "reject":
            return cmd(c.RejectCase, actor, reason="不予立案")
        case "withdraw":
            return cmd(c.WithdrawCase, actor, reason="撤回")
        case "merge":
            into = pick(["other-case", "other-case", state.case_id])
            target = pick([S.CLAIMED, S.SUSPENDED, None, S.CLOSED, S.MERGED])
            return cmd(c.MergeCase, actor, into_case_id=into, target_status=target)
        case "attach":
            return cmd(
                c.AttachDuplicate,
                actor,
                idempotency_key=f"dup-{state.version}",
                description="又有人报",
                location=Point(lon=106.57, lat=29.6),
                channel=Channel.HOTLINE,
                distance_m=12.5,
            )
        case "reopen":
            return cmd(c.ReopenCase, actor, reason="复发")
        case "tick":
            return cmd(c.Tick, actor)
        case "extend":
            return cmd(c.RequestExtension, actor, hours=pick([1.0, 0.5, 2.0, 3.0, 30.0]), reason="需协调")
        case "grant" | "refuse":
            return cmd(c.DecideExtension, actor, granted=kind == "grant", reason="决定")
        case "suspend":
            return cmd(c.RequestSuspension, actor, reason="现场封闭")
        case "approve" | "disapprove":
            return cmd(c.DecideSuspension, actor, approved=kind == "approve", reason="决定")
        case "resume":
            return cmd(c.ResumeCase, actor, reason="恢复")
        case "feedback":
            return cmd(c.RecordFeedback, actor, satisfied=pick([True, False]))
    raise AssertionError(kind)


#: Drawn only among "any command at all", so that most sequences go on long enough to reach rework and 2027.
RARE = {"reject", "withdraw", "merge", "attach", "tick", "report"}


def fits(kind: str, state: CaseState) -> bool:
    """Whether `kind` fits the case as it stands (its status and pending requests)."""
    if kind in RARE or state.status not in WHEN[kind]:
        return False
    if kind in {"grant", "refuse"}:
        return state.extension_pending is not None
    if kind in {"approve", "disapprove"}:
        return state.suspension_pending
    if kind in {"extend", "suspend"}:
        return state.extension_pending is None and not state.suspension_pending
    return True


def may(kind: str, actor: Actor, state: CaseState) -> bool:
    allowed = MAY[kind]
    return actor.role in allowed or (UNIT_LEAD in allowed and actor == unit(state.lead_unit))


def natural(state: CaseState, stage: str) -> bool:
    return stage == "rectify" and RULES.categories[state.category].limit_kind is LimitKind.NATURAL


def working(a: datetime, b: datetime) -> timedelta:
    return CITY_CALENDAR.working_time_between(a, b)


class CaseMachine(RuleBasedStateMachine):
    @initialize(category=st.sampled_from(sorted(RULES.categories)), start=st.sampled_from(STARTS))
    def open_case(self, category: str, start: datetime) -> None:
        self.now = start
        self.events: list[Event] = []
        self.state: CaseState | None = None
        self.accept(decide(None, report(category=category), start, RULES))

    # -- the clock: timers fire exactly when due, as the case workflow's do -----------------------------
    def advance(self, target: datetime) -> None:
        for _ in range(40):
            due = next_due(self.state, RULES)
            if due is None or due > target:
                break
            self.now = max(self.now, due)
            fired = decide(self.state, cmd(c.Tick, SYSTEM_ACTOR), self.now, RULES)
            assert fired, f"next_due said {due}, but a tick at {self.now} fired nothing"
            self.accept(fired)
        else:
            raise AssertionError("the timers never settle")
        self.now = max(self.now, target)

    def accept(self, new: list[Event]) -> None:
        """Fold `new` one event at a time, checking each against the state it applies to."""
        assert new, "an accepted command records at least one event"
        assert len({e.causation_id for e in new}) == 1 and {e.occurred_at for e in new} == {self.now}
        for event in new:
            self.check_event(self.state, event)
            self.state = evolve(self.state, event)
            self.events.append(event)

    def check_event(self, before: CaseState | None, e: Event) -> None:
        match e.type:
            case "deadline_set":
                assert e.due_at >= e.occurred_at, f"{e.stage} due {e.due_at}, set at {e.occurred_at}"
                by_clock = before is not None and natural(before, e.stage)
                reaches_unknown = e.due_at.astimezone(CITY_CALENDAR.zone).year not in KNOWN_YEARS
                assert e.estimated == (reaches_unknown and not by_clock), (e.stage, e.due_at, e.estimated)
            case "deadline_missed":
                deadline = before.deadlines[e.stage]
                assert not deadline.missed and deadline.due_at == e.due_at <= e.occurred_at
                assert before.status in ACTIVE_IN[e.stage]
                # Timers fire on time; only a claim deadline that waited through a dispute upheld is late.
                assert e.due_at == e.occurred_at or e.stage == "claim", (e.stage, e.due_at, e.occurred_at)
            case "escalation_raised":
                assert before.status in ACTIVE_IN["rectify"], f"a rung on a {before.status} case"
                assert before.deadlines["rectify"].missed
                assert e.level == before.escalation_level + 1 <= len(RULES.ladder)
                assert e.due_at == e.occurred_at, "a rung fired late or early"
                assert (e.responsible_role is not None) == (e.level == len(RULES.ladder))

    # -- commands --------------------------------------------------------------------------------------
    @rule(
        data=st.data(),
        fitting=st.sampled_from([True] * 4 + [False]),
        actor=ACTORS,
        minutes=st.sampled_from([0, 0, 5, 30, 90, 60 * 5, 60 * 24, 60 * 24 * 3]),
    )
    def issue(self, data: st.DataObject, fitting: bool, actor: Actor | str, minutes: int) -> None:
        self.advance(self.now + timedelta(minutes=minutes))
        before = self.state
        # Mostly a command that fits the case as it stands, so sequences go deep; sometimes any command at all.
        fitting_kinds = [k for k in KINDS if fits(k, before)]
        kind = data.draw(st.sampled_from(fitting_kinds if fitting and fitting_kinds else KINDS), label="kind")
        self.run(kind, actor, lambda options: data.draw(st.sampled_from(options)))

    @precondition(lambda self: self.state.status in ACTIVE_IN["rectify"] and not self.state.suspension_pending)
    @rule(days=st.sampled_from([1, 2, 5]))
    def suspend_for_a_while(self, days: int) -> None:
        """挂起 and resume, most often while the ladder climbs: the rungs still to come must wait as long."""
        for kind, minutes in (("suspend", 0), ("approve", 10), ("resume", 60 * 24 * days)):
            self.advance(self.now + timedelta(minutes=minutes))
            assert self.run(kind, "right", lambda options: options[0]), f"{kind} refused"

    @precondition(lambda self: self.state.status in WHEN["extend"] and self.state.extension_pending is None)
    @rule(
        hours=st.sampled_from([0.5, 1.0, 1.5, 20.0]),
        minutes=st.sampled_from([0, 30, 60 * 24]),
        by=st.sampled_from([dispatcher(), dispatcher(), *OTHERS]),
    )
    def ask_for_more_time(self, hours: float, minutes: int, by: Actor) -> None:
        """延期 asked for, then decided by someone: accepted exactly while the count and the total stay within
        the cap, and decided only by a dispatcher (otherwise it stays pending)."""
        self.advance(self.now + timedelta(minutes=minutes))
        state, caps = self.state, RULES.extensions
        cap = caps.max_total_ratio * RULES.categories[state.category].rectify_limit_hours
        within = state.extensions_granted < caps.max_count and state.extension_hours + hours <= cap
        assert self.run("extend", "right", lambda options: hours) == within
        if within:
            assert self.run("grant", by, lambda options: options[0]) == (by.role is Role.DISPATCHER)

    def run(self, kind: str, actor: Actor | str, pick: Callable[[list], object]) -> bool:
        """Decide `kind` at the current moment, check what came of it, and keep it if accepted."""
        before = self.state
        if actor == "right":
            actor = right_actor(kind, before)
        try:
            new = decide(before, build(kind, actor, before, pick), self.now, RULES)
        except DomainError as refused:
            assert self.state is before  # nothing changed
            assert before.case_id in str(refused) and f"status {before.status}" in str(refused)
            return False
        assert actor.role is not Role.AUDITOR, "auditors only read"
        assert may(kind, actor, before), f"{actor} may not {kind}"
        assert before.status in WHEN[kind], f"{kind} accepted on a {before.status} case"
        if kind == "tick":
            assert new == [], "a timer fell due without the clock noticing it"
            return True
        self.accept(new)
        self.check_command(kind, before, new)
        if self.state.status in FINAL_STATUSES:
            self.check_final()
        self.advance(self.now)  # the workflow looks at its timers after every change
        return True

    def check_command(self, kind: str, before: CaseState, new: list[Event]) -> None:
        after = self.state
        caps = RULES.extensions
        limit = RULES.categories[before.category].rectify_limit_hours
        match kind:
            case "extend":
                assert before.extensions_granted < caps.max_count and before.extension_pending is None
                assert before.extension_hours + new[0].hours <= caps.max_total_ratio * limit
            case "grant":
                assert after.extensions_granted <= caps.max_count
                assert after.extension_hours <= caps.max_total_ratio * limit
                moved_from = max(before.due_at, self.now)
                assert after.due_at > moved_from and after.escalation_level == 0
            case "resume":
                self.check_resumed(before, new)
            case "approve":
                assert after.status is S.SUSPENDED and after.suspended_from is before.status
                assert next_due(after, RULES) is None, "a clock runs on a suspended case"
            case "reassign" | "verify_fail" | "reopen":
                assert not after.deadlines["rectify"].missed and after.escalation_level == 0

    def check_resumed(self, before: CaseState, new: list[Event]) -> None:
        """Each clock that ran runs on with exactly the time it had left; a missed one stays; the ladder waits."""
        suspended_at, now = before.suspended_at, self.now
        should_move = {
            stage for stage, d in before.deadlines.items() if not d.missed and before.suspended_from in ACTIVE_IN[stage]
        }
        moved = {e.stage: e.due_at for e in new if e.type == "deadline_set"}
        assert set(moved) == should_move
        for stage, due in moved.items():
            old = before.deadlines[stage].due_at
            if natural(before, stage):
                assert due - now == old - suspended_at
            else:
                assert working(now, due) == working(suspended_at, old)
        ladder = "rectify" in before.deadlines and before.deadlines["rectify"].missed
        paused = working(suspended_at, now).total_seconds() / 3600 if ladder else 0.0
        assert new[0].paused_hours == paused and self.state.status is before.suspended_from

    @rule(minutes=st.sampled_from([30, 60 * 7, 60 * 24 * 2, 60 * 24 * 6]))
    def wait(self, minutes: int) -> None:
        self.advance(self.now + timedelta(minutes=minutes))

    # -- invariants ------------------------------------------------------------------------------------
    @invariant()
    def consistent(self) -> None:
        state = self.state
        assert [e.version for e in self.events] == list(range(1, len(self.events) + 1)) and state.version == len(
            self.events
        ), "versions go up by one"
        due = next_due(state, RULES)
        assert due is None or due > self.now, "a due moment passed unnoticed"
        if state.status in FINAL_STATUSES | {S.SUSPENDED}:
            assert due is None, f"a clock runs on a {state.status} case"
        if state.status is S.CLOSED:
            assert state.escalation_level == 0
        caps, limit = RULES.extensions, RULES.categories[state.category].rectify_limit_hours
        assert state.extensions_granted <= caps.max_count and state.extension_hours <= caps.max_total_ratio * limit

    def teardown(self) -> None:
        """The state is the fold of the events, as stored (JSON) and read back."""
        if not self.events:
            return
        stored = [parse_event(json.loads(json.dumps(event_body(e)))) for e in self.events]
        assert stored == self.events and fold(stored) == self.state
        assert {e.case_id for e in stored} == {self.state.case_id}
        assert len({e.event_id for e in stored}) == len(stored)

    def check_final(self) -> None:
        """A rejected, withdrawn or merged case accepts nothing more, whoever asks; a tick finds nothing."""
        for kind in KINDS:
            for actor in {right_actor(kind, self.state), dispatcher()}:
                try:
                    new = decide(
                        self.state, build(kind, actor, self.state, lambda options: options[0]), self.now, RULES
                    )
                except DomainError:
                    continue
                assert kind == "tick" and new == [], f"a {self.state.status} case accepted {kind}"


CaseMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_random_command_sequences_keep_the_invariants = CaseMachine.TestCase
