"""Builders for inspection point and round tests: a policy with checklists, two points, commands, given/when."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from rectify.domain.inspection import (
    ChecklistItem,
    InspectionPoint,
    InspectionRules,
    Leader,
    PointCategory,
    RoundRules,
    TaskGroup,
    point_stream,
    round_stream,
)
from rectify.domain.inspection_events import PointEvent, RoundEvent
from rectify.domain.points import ItemAnswer, LinkFailureCase, PointState, RecordInspection, decide_point, fold_point
from rectify.domain.rounds import PlanRound, RecordRoundPoint, RoundKind, RoundState, RoundTick, decide_round
from rectify.domain.rounds import fold_round as fold_round
from rectify.domain.types import SYSTEM_ACTOR, Actor, EvidenceRef, Point, Role
from tests.support.given import DEPT, LEAD, OTHER, POLICY, T0

RULES = InspectionRules(
    point_categories={
        "farmers_market": PointCategory(
            code="farmers_market",
            name="农贸市场",
            items=(
                ChecklistItem(code="no_vending", text="无占道经营", case_category="street_vending"),
                ChecklistItem(code="bins_ok", text="垃圾桶完好无满溢", case_category="illegal_structures"),
            ),
        ),
        "back_alley": PointCategory(
            code="back_alley",
            name="背街小巷",
            items=(ChecklistItem(code="ads_posted", text="公益广告不少于 3 处", case_category="street_vending"),),
        ),
    },
    leaders={"ld_a": Leader(id="ld_a", name="甲区长"), "ld_b": Leader(id="ld_b", name="乙区长")},
    task_groups={"tg_env": TaskGroup(id="tg_env", name="市容环境组")},
    ready_window_days=7,
    rounds=RoundRules(inspector_unit="office_command", team_round_hours=8, expire_after_hours=24),
)
IPOLICY = POLICY.model_copy(update={"inspection": RULES})
LADDER_POLICY = POLICY.model_copy(
    update={"inspection": RULES.model_copy(update={"rounds": RULES.rounds.model_copy(update={"ladder": True})})}
)

MARKET = InspectionPoint(
    point_id="p-market",
    name="观音桥农贸市场",
    category="farmers_market",
    location=Point(lon=106.57, lat=29.6),
    leader="ld_a",
    task_group="tg_env",
    territorial_unit=OTHER,
    guarantee_units=(DEPT,),
)
ALLEY = InspectionPoint(
    point_id="p-alley",
    name="建新东路背街小巷",
    category="back_alley",
    location=Point(lon=106.571, lat=29.601),
    leader="ld_b",
    task_group="tg_env",
    territorial_unit=LEAD,
)
ROUND = "r-1"
_ids = itertools.count()


def walker(unit_id: str = "office_command") -> Actor:
    return Actor(unit_id=unit_id, role=Role.INSPECTOR)


def office() -> Actor:
    return Actor(unit_id="office_command", role=Role.DISPATCHER)


def photo() -> EvidenceRef:
    return EvidenceRef(sha256="d" * 64, size=20, media_type="image/jpeg")


def answers(point: InspectionPoint, *failing: str) -> tuple[ItemAnswer, ...]:
    """Every item of the point's checklist passed, but those named: failed with a photo and a note."""
    items = IPOLICY.inspection.point_categories[point.category].items
    return tuple(
        ItemAnswer(item=i.code, passed=False, evidence=(photo(),), note="发现问题")
        if i.code in failing
        else ItemAnswer(item=i.code, passed=True)
        for i in items
    )


def record(
    point: InspectionPoint, *failing: str, actor: Actor | None = None, round_id: str = ROUND
) -> RecordInspection:
    return RecordInspection(
        command_id=f"rec-{next(_ids)}",
        case_id=point_stream(point.point_id),
        actor=actor or walker(),
        point=point,
        round_id=round_id,
        answers=answers(point, *failing),
    )


def link(point: InspectionPoint, item: str, case_id: str) -> LinkFailureCase:
    return LinkFailureCase(
        command_id=f"link-{next(_ids)}",
        case_id=point_stream(point.point_id),
        actor=SYSTEM_ACTOR,
        item=item,
        opened_case_id=case_id,
        round_id=ROUND,
    )


def plan(
    *points: InspectionPoint, due: timedelta = timedelta(hours=8), actor: Actor | None = None, **fields: object
) -> PlanRound:
    return PlanRound(
        command_id=f"plan-{next(_ids)}",
        case_id=round_stream(ROUND),
        actor=actor or office(),
        kind=RoundKind.TEAM,
        inspector_unit="office_command",
        points=points or (MARKET, ALLEY),
        due_at=T0 + due,
        **fields,  # type: ignore[arg-type]
    )


def walked(point_id: str, *failed: str, actor: Actor | None = None) -> RecordRoundPoint:
    return RecordRoundPoint(
        command_id=f"walk-{next(_ids)}",
        case_id=round_stream(ROUND),
        actor=actor or walker(),
        point_id=point_id,
        failed=failed,
    )


def round_tick() -> RoundTick:
    return RoundTick(command_id=f"tick-{next(_ids)}", case_id=round_stream(ROUND), actor=SYSTEM_ACTOR)


def point_after(*steps: tuple[datetime, RecordInspection | LinkFailureCase]) -> PointState | None:
    state: PointState | None = None
    events: list[PointEvent] = []
    for at, command in steps:
        new = decide_point(state, command, at, IPOLICY)
        events += new
        state = fold_point(new, state)
    assert fold_point(events) == state
    return state


def round_after(
    *steps: tuple[datetime, PlanRound | RecordRoundPoint | RoundTick], policy: object = IPOLICY
) -> RoundState | None:
    state: RoundState | None = None
    events: list[RoundEvent] = []
    for at, command in steps:
        new = decide_round(state, command, at, policy)  # type: ignore[arg-type]
        events += new
        state = fold_round(new, state)
    assert fold_round(events) == state
    return state
