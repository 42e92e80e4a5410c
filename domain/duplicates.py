"""The duplicate rule: a new report repeats an open case of the same category within the category's radius,
opened within its window. Every intake path asks it (the SDK's report, so the CLI, Open311 and the
simulation too): the store supplies nearby open cases through one query (`search_area` bounds it), and
`duplicate_of` decides which one, if any, the report repeats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rectify.domain.commands import AttachDuplicate, ReportCase
from rectify.domain.policy import Policy
from rectify.domain.router import metres_between
from rectify.domain.types import OPEN_STATUSES, CaseStatus, Point


@dataclass(frozen=True)
class Candidate:
    """An existing case, as much of it as the rule needs."""

    case_id: str
    category: str
    location: Point
    opened_at: datetime
    status: CaseStatus


@dataclass(frozen=True)
class SearchArea:
    """Where the store looks: open cases of `category` opened since `since` inside the box (a generous one:
    the exact distance is `duplicate_of`'s to measure)."""

    category: str
    statuses: frozenset[CaseStatus]
    since: datetime
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True)
class Duplicate:
    case_id: str
    distance_m: float


def attachment(report: ReportCase, found: Duplicate, command_id: str) -> AttachDuplicate:
    """The command that records `report` on the open case it repeats (the SDK's and the simulation's alike)."""
    return AttachDuplicate(
        command_id=command_id,
        case_id=found.case_id,
        actor=report.actor,
        idempotency_key=report.idempotency_key,
        description=report.description.strip(),
        location=report.location,
        channel=report.channel,
        distance_m=found.distance_m,
        point_id=report.point_id,
    )


def window(policy: Policy, category: str) -> timedelta:
    """How recent an open case must be to absorb a repeat: the category's own window, else the city's."""
    spec = policy.categories[category]
    hours = policy.duplicate_window_hours if spec.duplicate_window_hours is None else spec.duplicate_window_hours
    return timedelta(hours=hours)


def search_area(policy: Policy, category: str, at: Point, now: datetime) -> SearchArea:
    radius = policy.categories[category].duplicate_radius_m
    degrees = radius / 100_000 + 1e-4  # 1° of latitude is over 100 km, and of longitude over 66 km below 53°
    return SearchArea(
        category=category,
        statuses=OPEN_STATUSES,
        since=now - window(policy, category),
        min_lon=at.lon - degrees * 1.5,
        min_lat=at.lat - degrees,
        max_lon=at.lon + degrees * 1.5,
        max_lat=at.lat + degrees,
    )


def duplicate_of(
    policy: Policy, category: str, at: Point, now: datetime, candidates: Iterable[Candidate]
) -> Duplicate | None:
    """The nearest open case of the category within its radius, opened within the window (the window's edge
    included), ties broken by case id; None when there is none."""
    radius = policy.categories[category].duplicate_radius_m
    since = now - window(policy, category)
    near = sorted(
        (metres_between(at, c.location), c.case_id)
        for c in candidates
        if c.category == category and c.status in OPEN_STATUSES and c.opened_at >= since
    )
    if not near or near[0][0] > radius:
        return None
    distance, case_id = near[0]
    return Duplicate(case_id=case_id, distance_m=round(distance, 1))
