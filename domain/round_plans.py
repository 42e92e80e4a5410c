"""Which rounds to start, and with which points: the daily team rounds and the duty leader's weekly round.

天天督查: each task group's inspection team walks the group's points every day. The duty leader of the week
(rotating through the leaders, domain/inspection.py `duty_leader`) walks the points they answer for. Pure: the
moment and the points arrive from outside, and a round's id derives from its kind, owner and day (or week), so a
Schedule that fires twice plans the same round twice, which its workflow id then refuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from rectify.domain.inspection import InspectionPoint, duty_leader, round_stream
from rectify.domain.policy import Policy
from rectify.domain.rounds import PlanRound, RoundKind
from rectify.domain.types import SYSTEM_ACTOR

#: When the round Schedules fire (workflows/schedules.py), in the city's zone: each task group's team round every
#: day at 08:30, the duty leader's every Monday (weekday 0) at 09:00.
FIRES_AT: dict[RoundKind, tuple[time, int | None]] = {
    RoundKind.TEAM: (time(8, 30), None),
    RoundKind.DUTY: (time(9, 0), 0),
}


def firings(kind: RoundKind, now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The last moment at or before `now` the Schedule of `kind` fired, and the one before it."""
    at, weekday = FIRES_AT[kind]
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    step = timedelta(days=1 if weekday is None else 7)
    if weekday is not None:
        day -= timedelta(days=(day.weekday() - weekday) % 7)
    latest = datetime.combine(day, at, zone)
    if latest > now:
        latest = datetime.combine(day - step, at, zone)
    return latest, datetime.combine(latest.date() - step, at, zone)


def plan_rounds(
    kind: RoundKind,
    points: Iterable[InspectionPoint],
    policy: Policy,
    at: datetime,
    last_checked: Mapping[str, datetime] | None = None,
) -> list[PlanRound]:
    """The rounds a Schedule of `kind` starts at `at` (none for a kind started only by hand). A team walks at most
    the policy's `team_round_points` a day: the points never checked, then those `last_checked` longest ago."""
    rules = policy.inspection
    local = at.astimezone(ZoneInfo(policy.timezone)).date()
    ordered = sorted(points, key=lambda p: p.point_id)
    plans: list[tuple[str, str | None, str | None, list[InspectionPoint], float]] = []
    if kind is RoundKind.TEAM:
        for group in sorted(rules.task_groups):
            mine = [p for p in ordered if p.task_group == group]
            if (most := rules.rounds.team_round_points) is not None:
                checked = last_checked or {}
                stalest = sorted(mine, key=lambda p: (p.point_id in checked, checked.get(p.point_id, at), p.point_id))
                mine = sorted(stalest[:most], key=lambda p: p.point_id)
            if mine:
                plans.append((f"team-{group}-{local:%Y%m%d}", None, group, mine, rules.rounds.team_round_hours))
    elif kind is RoundKind.DUTY:
        leader = duty_leader(rules, local)
        mine = [p for p in ordered if leader is not None and p.leader == leader.id]
        if leader is not None and mine:
            year, week, _ = local.isocalendar()
            plans.append((f"duty-{leader.id}-{year}w{week:02d}", leader.id, None, mine, rules.rounds.duty_round_hours))
    return [
        PlanRound(
            command_id=f"plan/{round_id}",
            case_id=round_stream(round_id),
            actor=SYSTEM_ACTOR,
            kind=kind,
            inspector_unit=rules.rounds.inspector_unit,
            leader=leader_id,
            task_group=group,
            points=tuple(mine),
            due_at=at + timedelta(hours=hours),
        )
        for round_id, leader_id, group, mine, hours in plans
    ]
