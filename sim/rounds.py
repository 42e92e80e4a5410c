"""Rounds in the simulated city: which rounds start when, how the inspectors walk them, what they find.

A seeded model, the same for every engine. Every day at 08:30 each task group's team round starts, every Monday at
09:00 the duty leader's (domain/round_plans.py, as the Schedules plan them). Some points are neglected: their items
fail often, so their failures open cases that the units then work like any other. Some rounds are not finished:
the inspectors stop part-way and the round misses its due time. Everything is a pure function of the seed, the
round's place in the run (its kind, its task group and the day's index, never its date) and the point, so both engines
walk the same points at the same moments and find the same things, and any start gives the same rounds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from rectify.city import City
from rectify.domain.inspection import InspectionPoint
from rectify.domain.points import ItemAnswer
from rectify.domain.round_plans import FIRES_AT, plan_rounds
from rectify.domain.rounds import PlanRound, RoundKind
from rectify.domain.types import EvidenceRef

#: When the Schedules start rounds (workflows/schedules.py): team rounds daily, the duty leader's on Mondays.
TEAM_AT, DUTY_AT = FIRES_AT[RoundKind.TEAM][0], FIRES_AT[RoundKind.DUTY][0]
#: Share of points neglected by those who answer for them, and how often an item of theirs fails, or another's.
NEGLECTED_SHARE, NEGLECTED_FAILS, KEPT_FAILS = 0.2, 0.35, 0.03
#: The inspectors leave one team round in this many unfinished (they stop after about half the points), taking the
#: run's team rounds in order from a seeded offset, so every run of a few days has some; and this share of duty rounds.
UNFINISHED_EVERY, UNFINISHED_SHARE = 7, 0.15
#: Minutes between two points of a round, and the first point's distance from the start.
WALK_MINUTES = 25
NOTES = ("现场检查发现问题，已拍照取证", "问题仍未整改到位", "群众反映强烈，需尽快整改")


@dataclass(frozen=True)
class Walk:
    """One point of a round, walked at `at`, with the inspector's answers."""

    at: datetime
    round_stream: str
    point_id: str
    answers: tuple[ItemAnswer, ...]


def _rng(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("/".join((str(seed), *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def neglected(seed: int, point_id: str) -> bool:
    return _rng(seed, "neglect", point_id).random() < NEGLECTED_SHARE


def rounds_starting(city: City, day_start: datetime, last_checked: Mapping[str, datetime]) -> list[PlanRound]:
    """The rounds the Schedules start on the day that begins at `day_start` (local midnight), planned as the
    planner's activity plans them from each point's last check."""
    zone = city.policy.calendar.zone
    day = day_start.astimezone(zone).date()
    points = city.points.values()
    plans = plan_rounds(RoundKind.TEAM, points, city.policy, datetime.combine(day, TEAM_AT, zone), last_checked)
    if day.weekday() == 0:
        plans += plan_rounds(RoundKind.DUTY, points, city.policy, datetime.combine(day, DUTY_AT, zone), last_checked)
    return plans


def round_key(plan: PlanRound, day_index: int) -> str:
    """The round's place in the run, for its randomness: its id carries its date (and the duty leader rotates by
    date), so keying on it would make which rounds are left unfinished depend on when the run starts."""
    return f"{plan.kind.value}/{plan.task_group or ''}/{day_index}"


def unfinished(city: City, seed: int, plan: PlanRound, day_index: int) -> bool:
    """Whether the inspectors stop part-way: the run's team rounds are numbered day by day in task-group order and
    every UNFINISHED_EVERY-th is left, from an offset the seed picks; a duty round draws from its own key."""
    if plan.kind is RoundKind.TEAM and plan.task_group is not None:
        groups = sorted(city.policy.inspection.task_groups)
        number = day_index * len(groups) + groups.index(plan.task_group)
        return (number + _rng(seed, "unfinished").randrange(UNFINISHED_EVERY)) % UNFINISHED_EVERY == 0
    return _rng(seed, "round", round_key(plan, day_index)).random() < UNFINISHED_SHARE


def walks(city: City, seed: int, plan: PlanRound, start: datetime, day_index: int) -> list[Walk]:
    """How the round is walked: its points in order, a few minutes apart, each item answered as found."""
    key = round_key(plan, day_index)
    points = list(plan.points)
    if unfinished(city, seed, plan, day_index):
        points = points[: max(0, len(points) // 2)]
    out = []
    for index, point in enumerate(points):
        at = start + timedelta(minutes=WALK_MINUTES * (index + 1), seconds=7)
        out.append(Walk(at, plan.case_id, point.point_id, _answers(city, seed, key, plan.case_id, point)))
    return out


def _answers(city: City, seed: int, key: str, round_stream: str, point: InspectionPoint) -> tuple[ItemAnswer, ...]:
    rng = _rng(seed, "answers", key, point.point_id)
    fails = NEGLECTED_FAILS if neglected(seed, point.point_id) else KEPT_FAILS
    answers = []
    for item in city.policy.inspection.point_categories[point.category].items:
        if rng.random() < fails:
            label = f"sim-photo/{round_stream}/{point.point_id}/{item.code}".encode()
            photo = EvidenceRef(sha256=hashlib.sha256(label).hexdigest(), size=len(label), media_type="image/jpeg")
            answers.append(ItemAnswer(item=item.code, passed=False, evidence=(photo,), note=rng.choice(NOTES)))
        else:
            answers.append(ItemAnswer(item=item.code, passed=True))
    return tuple(answers)
