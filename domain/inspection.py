"""Field inspection points (实地考察点位) and the rules of walking them, as data: the policy's part.

A point is a place the evaluators (第三方测评) visit: a market, a back alley, a school gate. Each point has a
category (点位类别), and each category a checklist written like the evaluation system's items (无占道经营,
垃圾桶完好无满溢, …). A failed item opens a case of the case category it names. The points themselves are city
data (city/jiangbei/points.geojson); the checklists, leaders, task groups and round rules are the policy's.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, model_validator

from rectify.domain.types import Frozen, Point, Routing

#: Stream ids: a point's records live in `pt-<point id>`, a round's in `rd-<round id>`.
POINT_PREFIX = "pt-"
ROUND_PREFIX = "rd-"
PointId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{1,60}$")]
#: The same spelling as a policy code (domain/policy.py `Code`), kept here so the policy can import these rules.
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Hours = Annotated[float, Field(gt=0, le=24 * 60)]


class ChecklistItem(Frozen):
    """One item of a point category's checklist; a failure opens a case of `case_category`."""

    code: Code
    text: Annotated[str, Field(min_length=1, max_length=200)]
    case_category: Code


class PointCategory(Frozen):
    code: Code
    name: Name
    items: Annotated[tuple[ChecklistItem, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _distinct_items(self) -> PointCategory:
        codes = [item.code for item in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError(f"point category {self.code}: checklist item codes repeat: {codes}")
        return self

    def item(self, code: str) -> ChecklistItem | None:
        return next((item for item in self.items if item.code == code), None)


class Leader(Frozen):
    """A responsible district leader (包点区领导), answerable for a set of points."""

    id: Code
    name: Name
    title: Annotated[str, Field(max_length=100)] = ""


class TaskGroup(Frozen):
    """A task group (专项工作组), whose inspection team walks its points every day."""

    id: Code
    name: Name


class RoundRules(Frozen):
    """How rounds run: who walks them, by when they are due, and whether a missed one climbs the ladder."""

    #: The unit whose inspectors walk the rounds (督查组).
    inspector_unit: Code = "office_inspection"
    #: Clock hours from a round's start to its due time: the daily team round, the duty leader's weekly round.
    team_round_hours: Hours = 8.0
    #: How many points a team walks in a day (None: all of its group's): those checked longest ago first.
    team_round_points: Annotated[int, Field(ge=1, le=500)] | None = None
    duty_round_hours: Hours = 72.0
    #: Clock hours after the due time at which an unfinished round is closed as expired (no more records).
    expire_after_hours: Hours = 24.0
    #: A missed round climbs the policy's escalation ladder (一整改、二曝光…) against the inspector's unit.
    ladder: bool = False


class InspectionRules(Frozen):
    point_categories: dict[str, PointCategory] = Field(default_factory=dict)
    leaders: dict[str, Leader] = Field(default_factory=dict)
    task_groups: dict[str, TaskGroup] = Field(default_factory=dict)
    #: A point counts as checked when its last record is at most this many days old (测评 readiness window).
    ready_window_days: Annotated[int, Field(ge=1, le=365)] = 7
    rounds: RoundRules = RoundRules()


class InspectionPoint(Frozen):
    """A point as the city data gives it: where, what kind, and who answers for it.

    属地镇街主抓、职能部门主管、包保部门同责联创: the territorial unit and the guarantee departments are named
    here, so a failure found on the point is routed to them.
    """

    point_id: PointId
    name: Name
    category: Code
    #: Where the point is: its own place, or the centre of its outline.
    location: Point
    #: The point's outline when it is an area (a market, a compound); empty for a single spot.
    outline: tuple[Point, ...] = ()
    leader: Code
    task_group: Code
    territorial_unit: Code
    guarantee_units: tuple[Code, ...] = ()


def point_stream(point_id: str) -> str:
    return f"{POINT_PREFIX}{point_id}"


def round_stream(round_id: str) -> str:
    return f"{ROUND_PREFIX}{round_id}"


def route_failure(routing: Routing, point: InspectionPoint) -> Routing:
    """The router's answer for a failure found on `point`, made to name the point's own units.

    The category's rule still decides who leads (a department leads its department categories); a territorial
    lead is the point's territorial unit, and the guarantee unit is the point's first guarantee department.
    """
    territorial = routing.lead_unit == routing.territorial_unit
    return routing.model_copy(
        update={
            "lead_unit": point.territorial_unit if territorial else routing.lead_unit,
            "territorial_unit": point.territorial_unit,
            "guarantee_unit": point.guarantee_units[0] if point.guarantee_units else routing.guarantee_unit,
            "rule": f"point:{routing.rule}",
        }
    )


def duty_leader(rules: InspectionRules, week_of: date) -> Leader | None:
    """The leader on duty the week of `week_of`: the leaders in id order, one per ISO week, round and round."""
    leaders = sorted(rules.leaders.values(), key=lambda leader: leader.id)
    if not leaders:
        return None
    year, week, _ = week_of.isocalendar()
    return leaders[(year * 53 + week) % len(leaders)]


def failure_key(round_id: str, point_id: str, item: str) -> str:
    """The intake's idempotency key of a failed item's report: one case per round, point and item."""
    return f"round/{round_id}/{point_id}/{item}"


def failure_description(point: InspectionPoint, item: ChecklistItem, note: str) -> str:
    """What a failed item's case says (data for people, so in Chinese)."""
    return f"{point.name}：{item.text}（未通过）。{note}".strip()
