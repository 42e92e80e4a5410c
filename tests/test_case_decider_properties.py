"""Random command sequences against the decider: the invariants that must hold whatever happens."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from rectify.domain import commands as c
from rectify.domain.decider import decide
from rectify.domain.errors import DomainError
from rectify.domain.events import Event
from rectify.domain.state import CaseState, fold
from rectify.domain.types import Actor, CaseStatus, Role
from tests.given import (
    DEPT,
    LEAD,
    OTHER,
    POLICY,
    T0,
    auditor,
    cmd,
    dispatcher,
    inspector,
    photo,
    report,
    reporter,
    unit,
)

OTHERS = [unit(LEAD), unit(OTHER), unit(DEPT), dispatcher(), inspector(), reporter(), auditor()]
#: Mostly the actor the rule asks for, so sequences go deep (closed, reopened); often anyone at all.
ACTORS = st.sampled_from(["right"] * 7 + OTHERS)


def right_actor(kind: str, state: CaseState) -> Actor:
    if kind in {"claim", "dispute", "submit"}:
        return unit(state.lead_unit)
    if kind in {"reassign", "uphold", "reject", "merge"}:
        return dispatcher()
    if kind.startswith("verify"):
        return inspector()
    return reporter()


COMMAND_KINDS = st.sampled_from(
    ["claim", "dispute", "reassign", "uphold", "submit", "verify_pass", "verify_fail", "reject", "withdraw",
     "merge", "reopen"]
)  # fmt: skip


def build(kind: str, actor: Actor, to_unit: str, target: CaseStatus | None) -> c.Command:
    match kind:
        case "claim":
            return cmd(c.ClaimCase, actor)
        case "dispute":
            return cmd(c.DisputeCase, actor, reason="退单")
        case "reassign":
            return cmd(c.ReassignCase, actor, to_unit=to_unit, reason="改派")
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
            return cmd(c.MergeCase, actor, into_case_id="other-case", target_status=target)
        case _:
            return cmd(c.ReopenCase, actor, reason="复发")


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.events: list[Event] = decide(None, report(), self.now, POLICY)
        self.state: CaseState = fold(self.events)
        self.reached: set[CaseStatus] = set()

    @rule(
        kind=COMMAND_KINDS,
        actor=ACTORS,
        to_unit=st.sampled_from([LEAD, OTHER, DEPT, "nowhere"]),
        merge_target=st.sampled_from([None, CaseStatus.CLAIMED, CaseStatus.CLOSED]),
        minutes=st.integers(min_value=0, max_value=60 * 24 * 12),
    )
    def issue(self, kind: str, actor, to_unit: str, merge_target: CaseStatus | None, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        if actor == "right":
            actor = right_actor(kind, self.state)
        command = build(kind, actor, to_unit, merge_target)
        self.reached.add(self.state.status)
        before = self.state
        try:
            new = decide(self.state, command, self.now, POLICY)
        except DomainError as refused:
            assert self.state is before  # nothing changed
            assert self.state.case_id in str(refused) and f"status {self.state.status}" in str(refused)
            return
        assert new, "an accepted command records at least one event"
        assert actor.role is not Role.AUDITOR, "auditors only read"
        if before.status is CaseStatus.CLOSED:
            assert kind == "reopen", f"a closed case accepted {kind}"  # (feedback is not among the kinds issued)
        if kind == "claim":
            assert actor.unit_id == before.lead_unit and actor.role is Role.UNIT
        if kind in {"submit", "dispute"}:
            assert actor.unit_id == before.lead_unit
        self.events += new
        self.state = fold(new, self.state)

    @invariant()
    def versions_go_up_by_one(self) -> None:
        assert [e.version for e in self.events] == list(range(1, len(self.events) + 1))
        assert self.state.version == len(self.events)

    @invariant()
    def state_is_the_fold_of_the_events(self) -> None:
        assert fold(self.events) == self.state

    @invariant()
    def every_event_belongs_to_the_case(self) -> None:
        assert {e.case_id for e in self.events} == {self.state.case_id}
        assert len({e.event_id for e in self.events}) == len(self.events)


CaseMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_random_command_sequences_keep_the_invariants = CaseMachine.TestCase
