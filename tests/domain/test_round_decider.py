"""Rounds: given(planned, walked) / when(record or tick) / then(events or error); a round missing its due time."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from rectify.domain.errors import InvalidCommand, NotAuthorised, UnknownUnit, WrongStatus
from rectify.domain.inspection import duty_leader
from rectify.domain.round_plans import plan_rounds
from rectify.domain.rounds import RoundKind, RoundStatus, decide_round, next_due
from tests.support.given import T0, reporter
from tests.support.inspection import (
    ALLEY,
    IPOLICY,
    LADDER_POLICY,
    MARKET,
    RULES,
    plan,
    round_after,
    round_tick,
    walked,
    walker,
)

HOUR = timedelta(hours=1)


def test_a_planned_round_lists_its_points_and_its_due_time() -> None:
    events = decide_round(None, plan(), T0, IPOLICY)
    assert [e.type for e in events] == ["round_planned"]
    assert [p.point_id for p in events[0].points] == ["p-market", "p-alley"] and events[0].due_at == T0 + 8 * HOUR
    state = round_after((T0, plan()))
    assert state is not None and state.status is RoundStatus.OPEN and state.remaining == ("p-market", "p-alley")
    assert next_due(state, IPOLICY) == T0 + 8 * HOUR


def test_the_last_point_recorded_completes_the_round() -> None:
    state = round_after((T0, plan()), (T0 + HOUR, walked("p-market", "bins_ok")))
    events = decide_round(state, walked("p-alley"), T0 + 2 * HOUR, IPOLICY)
    assert [e.type for e in events] == ["round_point_recorded", "round_completed"]
    assert events[1].late is False and events[1].actor.role == "system"
    done = round_after((T0, plan()), (T0 + HOUR, walked("p-market", "bins_ok")), (T0 + 2 * HOUR, walked("p-alley")))
    assert done is not None and done.status is RoundStatus.COMPLETED and done.recorded["p-market"] == ("bins_ok",)
    assert next_due(done, IPOLICY) is None and decide_round(done, round_tick(), T0 + 99 * HOUR, IPOLICY) == []


def test_a_round_missing_its_due_time_is_a_missed_deadline_then_expires() -> None:
    state = round_after((T0, plan()), (T0 + HOUR, walked("p-market")))
    assert decide_round(state, round_tick(), T0 + 8 * HOUR - timedelta(seconds=1), IPOLICY) == []
    events = decide_round(state, round_tick(), T0 + 8 * HOUR, IPOLICY)
    assert [e.type for e in events] == ["round_missed"]
    assert events[0].due_at == T0 + 8 * HOUR and events[0].unit == "office_command"
    assert events[0].remaining == ("p-alley",)
    missed = round_after((T0, plan()), (T0 + HOUR, walked("p-market")), (T0 + 8 * HOUR, round_tick()))
    assert missed is not None and missed.missed and next_due(missed, IPOLICY) == T0 + 32 * HOUR
    late = decide_round(missed, walked("p-alley"), T0 + 9 * HOUR, IPOLICY)  # walked late: completed, late
    assert [e.type for e in late] == ["round_point_recorded", "round_completed"] and late[1].late is True
    expired = decide_round(missed, round_tick(), T0 + 32 * HOUR, IPOLICY)
    assert [e.type for e in expired] == ["round_expired"] and expired[0].remaining == ("p-alley",)
    ended = round_after((T0, plan()), (T0 + 40 * HOUR, round_tick()))  # one tick after an outage: both, in order
    assert ended is not None and ended.missed and ended.status is RoundStatus.EXPIRED
    with pytest.raises(WrongStatus, match="expired"):
        decide_round(ended, walked("p-alley"), T0 + 41 * HOUR, IPOLICY)


def test_a_missed_round_climbs_the_ladder_where_the_policy_says_so() -> None:
    state = round_after((T0, plan(due=HOUR)), policy=LADDER_POLICY)  # due 10:30 on a working Tuesday
    events = decide_round(state, round_tick(), T0 + HOUR, LADDER_POLICY)
    assert [e.type for e in events] == ["round_missed", "round_escalated"]  # 催办 at once
    assert (events[1].level, events[1].rung, events[1].unit) == (1, "催办", "office_command")
    climbed = round_after((T0, plan(due=HOUR)), (T0 + HOUR, round_tick()), policy=LADDER_POLICY)
    assert climbed is not None and climbed.escalation_level == 1
    # 曝光 comes 7 working hours after the missed due time: Wednesday 10:30, before the round expires
    assert next_due(climbed, LADDER_POLICY) == T0 + 25 * HOUR
    rung = decide_round(climbed, round_tick(), T0 + 25 * HOUR, LADDER_POLICY)
    assert [(e.type, getattr(e, "level", None)) for e in rung] == [("round_escalated", 2), ("round_expired", None)]
    assert decide_round(state, round_tick(), T0 + HOUR, IPOLICY)[-1].type == "round_missed"  # no ladder by default


def test_only_the_rounds_inspectors_record_each_point_once() -> None:
    state = round_after((T0, plan()), (T0 + HOUR, walked("p-market")))
    with pytest.raises(NotAuthorised, match="walked by office_command"):
        decide_round(state, walked("p-alley", actor=walker("st_a")), T0 + HOUR, IPOLICY)
    with pytest.raises(NotAuthorised):
        decide_round(state, walked("p-alley", actor=reporter()), T0 + HOUR, IPOLICY)
    with pytest.raises(WrongStatus, match="recorded already"):
        decide_round(state, walked("p-market"), T0 + HOUR, IPOLICY)
    with pytest.raises(InvalidCommand, match="not on this round"):
        decide_round(state, walked("p-elsewhere"), T0 + HOUR, IPOLICY)
    with pytest.raises(NotAuthorised, match="only the clock"):
        decide_round(state, round_tick().model_copy(update={"actor": walker()}), T0 + HOUR, IPOLICY)


def test_a_plan_is_checked_before_anything_is_written() -> None:
    with pytest.raises(WrongStatus):
        decide_round(round_after((T0, plan())), plan(), T0, IPOLICY)
    with pytest.raises(NotAuthorised):
        decide_round(None, plan(actor=walker()), T0, IPOLICY)
    with pytest.raises(InvalidCommand, match="each point once"):
        decide_round(None, plan(MARKET, MARKET), T0, IPOLICY)
    with pytest.raises(InvalidCommand, match="after it starts"):
        decide_round(None, plan(due=timedelta(0)), T0, IPOLICY)
    with pytest.raises(UnknownUnit):
        decide_round(None, plan().model_copy(update={"inspector_unit": "nobody"}), T0, IPOLICY)
    with pytest.raises(InvalidCommand, match="unknown leader"):
        decide_round(None, plan(ALLEY, leader="ld_z"), T0, IPOLICY)
    with pytest.raises(WrongStatus, match="needs a planned round"):
        decide_round(None, walked("p-market"), T0, IPOLICY)


def test_the_duty_leader_rotates_week_by_week_through_every_leader() -> None:
    mondays = [date(2026, 11, 23) + timedelta(weeks=n) for n in range(4)]
    on_duty = [duty_leader(RULES, monday) for monday in mondays]
    assert {leader.id for leader in on_duty if leader} == {"ld_a", "ld_b"}
    assert all(a != b for a, b in itertools.pairwise(on_duty))  # never the same two weeks running
    assert duty_leader(RULES, mondays[0]) == duty_leader(RULES, mondays[0] + timedelta(days=6))  # all week long


def test_a_schedule_plans_one_team_round_per_task_group_and_one_for_the_duty_leader() -> None:
    [team] = plan_rounds(RoundKind.TEAM, [ALLEY, MARKET], IPOLICY, T0)
    assert team.case_id == "rd-team-tg_env-20261124" and [p.point_id for p in team.points] == ["p-alley", "p-market"]
    assert team.due_at == T0 + 8 * HOUR and team.actor.role == "system" and team.task_group == "tg_env"
    assert decide_round(None, team, T0, IPOLICY)[0].type == "round_planned"  # a plan the decider takes
    [duty] = plan_rounds(RoundKind.DUTY, [ALLEY, MARKET], IPOLICY, T0)
    leader = duty_leader(RULES, date(2026, 11, 24))
    assert leader is not None and duty.leader == leader.id and duty.case_id == f"rd-duty-{leader.id}-2026w48"
    assert [p.leader for p in duty.points] == [leader.id]  # the duty leader's own points
    assert plan_rounds(RoundKind.SPOT, [ALLEY, MARKET], IPOLICY, T0) == []  # started by hand only


def test_a_team_walks_at_most_its_days_points_those_checked_longest_ago_first() -> None:
    rules = IPOLICY.inspection.model_copy(
        update={"rounds": IPOLICY.inspection.rounds.model_copy(update={"team_round_points": 1})}
    )
    policy = IPOLICY.model_copy(update={"inspection": rules})
    [never] = plan_rounds(RoundKind.TEAM, [MARKET, ALLEY], policy, T0, {"p-market": T0 - HOUR})
    assert [p.point_id for p in never.points] == ["p-alley"]  # never checked comes first
    checked = {"p-market": T0 - 30 * HOUR, "p-alley": T0 - 2 * HOUR}
    [stalest] = plan_rounds(RoundKind.TEAM, [MARKET, ALLEY], policy, T0, checked)
    assert [p.point_id for p in stalest.points] == ["p-market"]
