"""The battle map (攻坚作战图): every point with its readiness, and each leader's and unit's share of points ready.

Pure: the store hands over each point's read-model facts and the cases it opened; this says what colour each point
is and what figure each responsible leader, task group and unit gets. Filters are plain selections over the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter

from rectify.domain.inspection import InspectionPoint
from rectify.domain.points import CaseOnPoint, PointFacts, PointReadiness, Readiness, case_overdue, readiness
from rectify.domain.policy import Policy
from rectify.domain.types import Frozen


@dataclass(frozen=True, slots=True)
class BoardPoint:
    """One point on the map: the point as the city gives it, what its records say, and its readiness. A plain
    dataclass: the map makes one per point on every read (`BOARD_POINT` dumps one for the API)."""

    point: InspectionPoint
    readiness: PointReadiness
    last_checked_at: datetime | None = None
    failed_items: tuple[str, ...] = ()
    open_cases: tuple[str, ...] = ()
    overdue_cases: tuple[str, ...] = ()


BOARD_POINT: TypeAdapter[BoardPoint] = TypeAdapter(BoardPoint)


class Share(Frozen):
    """A leader's, task group's or unit's readiness figure: points ready out of points held."""

    key: str
    ready: int
    stale: int
    not_ready: int

    @property
    def total(self) -> int:
        return self.ready + self.stale + self.not_ready

    @property
    def share(self) -> float:
        return self.ready / self.total if self.total else 0.0


def board(
    points: Iterable[InspectionPoint],
    facts: Mapping[str, PointFacts],
    cases: Mapping[str, Sequence[CaseOnPoint]],
    now: datetime,
    policy: Policy,
) -> list[BoardPoint]:
    """Every point with its readiness at `now`, in point id order."""
    out: list[BoardPoint] = []
    nothing = PointFacts()
    for point in sorted(points, key=lambda p: p.point_id):
        known, on_point = facts.get(point.point_id, nothing), cases.get(point.point_id, ())
        out.append(
            BoardPoint(
                point=point,
                readiness=readiness(point.point_id, known, on_point, now, policy),
                last_checked_at=known.last_checked_at,
                failed_items=known.failed_items,
                open_cases=tuple(c.case_id for c in on_point if c.open),
                overdue_cases=tuple(c.case_id for c in on_point if case_overdue(c, now)),
            )
        )
    return out


def shares(rows: Iterable[BoardPoint], key: Callable[[InspectionPoint], Iterable[str]]) -> list[Share]:
    """Each key's points by readiness (a point counts for every key it has: a unit among its guarantee
    departments), best share first, then by key."""
    counts: dict[str, list[int]] = {}
    slot = {Readiness.READY: 0, Readiness.STALE: 1, Readiness.NOT_READY: 2}
    for row in rows:
        for name in key(row.point):
            counts.setdefault(name, [0, 0, 0])[slot[row.readiness.level]] += 1
    found = [Share(key=name, ready=c[0], stale=c[1], not_ready=c[2]) for name, c in counts.items()]
    return sorted(found, key=lambda s: (-s.share, s.key))


def by_leader(point: InspectionPoint) -> tuple[str, ...]:
    return (point.leader,)


def by_task_group(point: InspectionPoint) -> tuple[str, ...]:
    return (point.task_group,)


def by_unit(point: InspectionPoint) -> tuple[str, ...]:
    """The units answerable for a point: its territorial unit and its guarantee departments."""
    return (point.territorial_unit, *point.guarantee_units)


def select(
    rows: Iterable[BoardPoint],
    *,
    leader: str | None = None,
    task_group: str | None = None,
    unit: str | None = None,
    category: str | None = None,
) -> list[BoardPoint]:
    """The battle map's filters: by leader, task group, unit (territorial or guarantee) and point category."""
    return [
        row
        for row in rows
        if (leader is None or row.point.leader == leader)
        and (task_group is None or row.point.task_group == task_group)
        and (unit is None or unit in by_unit(row.point))
        and (category is None or row.point.category == category)
    ]
