"""问责 proceedings: the decider (given / when / then); the child workflow is in tests/workflows."""

from __future__ import annotations

import pytest

from rectify.domain.accountability import (
    DecideProceeding,
    Outcome,
    ProceedingTick,
    SubmitExplanation,
    decide_proceeding,
    fold_proceeding,
)
from rectify.domain.errors import NotAuthorised, WrongStatus
from rectify.domain.types import SYSTEM_ACTOR, Actor, Role
from tests.support.given import DEPT, LEAD, POLICY, PROCEEDING, T0, local, referral, unit

ID = PROCEEDING
REVIEWER = Actor(unit_id="office_inspection", role=Role.REVIEWER)
_n = iter(range(10_000))


def given(*commands: object, at: object = T0) -> object:
    state = None
    for command in commands:
        state = fold_proceeding(decide_proceeding(state, command, at, POLICY), state)
    return state


def explain(who: str = LEAD) -> SubmitExplanation:
    return SubmitExplanation(command_id=f"c{next(_n)}", case_id=ID, actor=unit(who), text="人手不足，已整改")


def decide(outcome: Outcome = Outcome.INTERVIEW, actor: Actor = REVIEWER) -> DecideProceeding:
    return DecideProceeding(command_id=f"c{next(_n)}", case_id=ID, actor=actor, outcome=outcome, reason="超期未改")


def tick() -> ProceedingTick:
    return ProceedingTick(command_id=f"c{next(_n)}", case_id=ID, actor=SYSTEM_ACTOR)


def test_a_referral_gives_the_unit_three_working_days_to_explain_and_names_its_post() -> None:
    [opened] = decide_proceeding(None, referral(), local("2026-11-24 10:00"), POLICY)
    assert opened.explanation_due_at == local("2026-11-27 10:00")  # 21 working hours: Tue 10:00 → Fri 10:00
    assert opened.unit == LEAD and opened.responsible_role == "主要负责人"
    with pytest.raises(NotAuthorised, match="opened by the ladder"):
        decide_proceeding(None, referral(actor=unit()), T0, POLICY)


def test_only_the_unit_explains_and_only_a_reviewer_decides_after_it() -> None:
    opened = given(referral())
    with pytest.raises(NotAuthorised, match=f"only {LEAD} may explain"):
        decide_proceeding(opened, explain(DEPT), T0, POLICY)
    with pytest.raises(WrongStatus, match="wait for the unit's explanation"):
        decide_proceeding(opened, decide(), T0, POLICY)
    explained = given(referral(), explain())
    with pytest.raises(NotAuthorised, match="only a reviewer"):
        decide_proceeding(explained, decide(actor=Actor(unit_id="office_command", role=Role.DISPATCHER)), T0, POLICY)
    decided, closed = decide_proceeding(explained, decide(Outcome.PUBLIC_CRITICISM), T0, POLICY)
    assert (decided.type, decided.outcome, decided.points, closed.type) == (
        "proceeding_decided",
        "public_criticism",
        5.0,
        "proceeding_closed",
    )
    done = given(referral(), explain(), decide())
    with pytest.raises(WrongStatus, match="is closed"):
        decide_proceeding(done, decide(), T0, POLICY)


def test_a_missed_explanation_is_recorded_when_its_deadline_passes_and_then_the_reviewer_decides() -> None:
    opened = given(referral(), at=local("2026-11-24 10:00"))
    assert decide_proceeding(opened, tick(), local("2026-11-27 09:59"), POLICY) == []
    [missed] = decide_proceeding(opened, tick(), local("2026-11-27 10:00"), POLICY)
    assert missed.type == "explanation_missed" and missed.due_at == local("2026-11-27 10:00")
    after = fold_proceeding([missed], opened)
    with pytest.raises(WrongStatus, match="explanation window has closed"):
        decide_proceeding(after, explain(), local("2026-11-27 11:00"), POLICY)
    assert [e.type for e in decide_proceeding(after, decide(Outcome.DISCIPLINE), T0, POLICY)] == [
        "proceeding_decided",
        "proceeding_closed",
    ]
