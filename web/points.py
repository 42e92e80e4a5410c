"""攻坚作战图 (the battle map) and a point's page.

The battle map: every inspection point on the district map, coloured by the domain's readiness (达标 green,
待检查 amber, 未达标 red), filtered by leader, task group, unit and point category, with each responsible leader's,
task group's and unit's share of points ready. The page polls itself (htmx) and its map re-reads `/points/map.json`,
so a record or a closed case shows within the polling interval. A point's page: its inspections item by item,
their photos, and the cases its failures opened, each linked when the viewer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from rectify.domain import inspection_events as ie
from rectify.domain.battle_map import BoardPoint, Share, by_leader, by_task_group, by_unit, select, shares
from rectify.domain.inspection import InspectionPoint
from rectify.domain.points import READINESS_LABELS, REASON_LABELS, Readiness
from rectify.domain.policy import Policy
from rectify.store import inspections
from rectify.store.staff import StaffUser
from rectify.web import labels
from rectify.web.access import EVIDENCE_READERS, may_read, may_watch_district, scope_unit
from rectify.web.accounts import StaffRole
from rectify.web.context import Web, WebError, csrf_guard, render, require_user, stored_photo, web_of

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
#: Seconds between the battle map's refreshes (the page's list and figures, and its map).
POLL_SECONDS = 15
#: The map's colours by readiness, the same words everywhere (READINESS_LABELS).
TONE = {Readiness.READY: "ready", Readiness.STALE: "stale", Readiness.NOT_READY: "not_ready"}
FILTERS = ("leader", "task_group", "unit", "category")


def may_see_map(user: StaffUser) -> bool:
    """The office, leaders and auditors watch the district; inspectors walk its points."""
    return may_watch_district(user) or user.role == StaffRole.INSPECTOR


def may_see_point(user: StaffUser, point: InspectionPoint) -> bool:
    """A unit sees the points it answers for (territorial or guarantee); everyone else every point."""
    scope = scope_unit(user)
    return scope is None or scope in by_unit(point)


# -- the words --------------------------------------------------------------------------------------------------
def leader_name(policy: Policy, leader_id: str | None) -> str:
    leader = policy.inspection.leaders.get(leader_id or "")
    return leader.name if leader else (leader_id or "—")


def group_name(policy: Policy, group_id: str | None) -> str:
    group = policy.inspection.task_groups.get(group_id or "")
    return group.name if group else (group_id or "—")


def point_category_name(policy: Policy, code: str) -> str:
    category = policy.inspection.point_categories.get(code)
    return category.name if category else code


def item_text(policy: Policy, category: str, item: str) -> str:
    found = policy.inspection.point_categories.get(category)
    checklist_item = found.item(item) if found else None
    return checklist_item.text if checklist_item else item


@dataclass(frozen=True)
class Figure:
    """A readiness figure as the page shows it: who, how many of their points are ready, and the share."""

    key: str
    name: str
    share: Share

    @property
    def percent(self) -> int:
        return round(self.share.share * 100)


def figures(rows: list[BoardPoint], policy: Policy) -> dict[str, list[Figure]]:
    return {
        "leader": [Figure(s.key, leader_name(policy, s.key), s) for s in shares(rows, by_leader)],
        "task_group": [Figure(s.key, group_name(policy, s.key), s) for s in shares(rows, by_task_group)],
        "unit": [Figure(s.key, labels.unit_name(policy, s.key), s) for s in shares(rows, by_unit)],
    }


def choices(web: Web) -> dict[str, list[tuple[str, str]]]:
    """Each filter's options: only what the city's points use, by name."""
    policy, points = web.policy, list(web.city.points.values())
    units = sorted({u for p in points for u in by_unit(p)}, key=lambda u: (u[:3], labels.unit_name(policy, u)))
    return {
        "leader": [(k, leader_name(policy, k)) for k in sorted({p.leader for p in points})],
        "task_group": [(k, group_name(policy, k)) for k in sorted({p.task_group for p in points})],
        "unit": [(k, labels.unit_name(policy, k)) for k in units],
        "category": [(k, point_category_name(policy, k)) for k in sorted({p.category for p in points})],
    }


async def board_rows(request: Request, user: StaffUser) -> tuple[list[BoardPoint], dict[str, str]]:
    """The points this person may see with their readiness now, and the filters asked for (unknown ones dropped)."""
    web = web_of(request)
    options = choices(web)
    asked = {k: request.query_params.get(k, "") for k in FILTERS}
    chosen = {k: v for k, v in asked.items() if v and v in dict(options[k])}
    rows = await web.client.battle_map()
    rows = [r for r in rows if may_see_point(user, r.point)]
    return select(rows, **chosen), chosen


async def _map_user(request: Request) -> StaffUser:
    user = await require_user(request)
    if not (may_see_map(user) or user.role == StaffRole.UNIT):
        raise WebError(403, "攻坚作战图供指挥中心、区领导、督查和审计人员使用。")
    return user


@router.get("/points")
async def battle_map(request: Request) -> Response:
    user = await _map_user(request)
    web = web_of(request)
    rows, chosen = await board_rows(request, user)
    counts = {level: sum(1 for r in rows if r.readiness.level is level) for level in Readiness}
    query = "&".join(f"{k}={v}" for k, v in chosen.items())
    context: dict[str, Any] = {
        "rows": sorted(rows, key=lambda r: (-_severity(r), r.point.point_id)),
        "counts": counts,
        "total": len(rows),
        "figures": figures(rows, web.policy),
        "options": choices(web),
        "filters": chosen,
        "query": query,
        "poll": POLL_SECONDS,
        "tone": TONE,
        "levels": READINESS_LABELS,
        "reasons": REASON_LABELS,
        "leader_name": leader_name,
        "group_name": group_name,
        "category_name": point_category_name,
    }
    return render(request, "points.html", context, user=user)


def _severity(row: BoardPoint) -> int:
    return {Readiness.NOT_READY: 2, Readiness.STALE: 1, Readiness.READY: 0}[row.readiness.level]


@router.get("/points/map.json")
async def map_data(request: Request) -> Response:
    """The battle map's markers: each point's place (and outline), name, category and readiness."""
    user = await _map_user(request)
    policy = web_of(request).policy
    rows, _ = await board_rows(request, user)
    points = [
        {
            "id": r.point.point_id,
            "name": r.point.name,
            "category": point_category_name(policy, r.point.category),
            "lat": r.point.location.lat,
            "lon": r.point.location.lon,
            "outline": [[c.lat, c.lon] for c in r.point.outline],
            "level": TONE[r.readiness.level],
            "label": READINESS_LABELS[r.readiness.level],
            "reasons": "、".join(REASON_LABELS[x] for x in r.readiness.reasons),
        }
        for r in rows
    ]
    return JSONResponse({"points": points}, headers={"cache-control": "no-store"})


# -- a point's page ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visit:
    """One inspection of the point: when, by whom, on which round, each item's answer, and the cases it opened."""

    event: ie.PointInspected
    items: list[tuple[str, ie.ItemResult]]
    cases: dict[str, str]


async def _point_for(request: Request, point_id: str) -> tuple[StaffUser, InspectionPoint]:
    user = await require_user(request)
    point = web_of(request).city.points.get(point_id)
    if point is None:
        raise WebError(404, "没有这个点位。")
    if not may_see_point(user, point):
        raise WebError(403, "该点位不属于本单位（属地或包保）负责，无权查看。")
    return user, point


@router.get("/points/{point_id}")
async def point_page(request: Request, point_id: str) -> Response:
    user, point = await _point_for(request, point_id)
    web = web_of(request)
    policy = web.policy
    events = await inspections.point_records(web.store.pool, point_id)
    opened = [e for e in events if isinstance(e, ie.FailureCaseOpened)]
    visits = []
    for event in events:
        if isinstance(event, ie.PointInspected):
            items = [(item_text(policy, event.category, r.item), r) for r in event.results]
            cases = {o.item: o.case_id_opened for o in opened if o.round_id == event.round_id}
            visits.append(Visit(event, items, cases))
    visits.reverse()  # newest first
    row = next(iter(await web.client.battle_map(point_ids=[point_id])), None)  # this point only
    case_rows = []
    for o in opened:
        case = await web.store.get_case(o.case_id_opened)
        if case is not None:
            case_rows.append((o, case, may_read(user, case)))
    context: dict[str, Any] = {
        "point": point,
        "row": row,
        "visits": visits,
        "case_rows": list(reversed(case_rows)),
        "show_photos": StaffRole(user.role) in EVIDENCE_READERS,
        "tone": TONE,
        "levels": READINESS_LABELS,
        "reasons": REASON_LABELS,
        "leader_name": leader_name,
        "group_name": group_name,
        "category_name": point_category_name,
        "item_text": item_text,
        "back": "/points" if may_see_map(user) else None,
    }
    return render(request, "point.html", context, user=user)


@router.get("/points/{point_id}/photos/{sha256}")
async def point_photo(request: Request, point_id: str, sha256: str) -> Response:
    user, _ = await _point_for(request, point_id)
    if StaffRole(user.role) not in EVIDENCE_READERS:
        raise WebError(403, "照片仅向责任单位、派遣员、核查员和审计人员提供。")
    web = web_of(request)
    events = await inspections.point_records(web.store.pool, point_id)
    refs = {
        ref.sha256: ref
        for e in events
        if isinstance(e, ie.PointInspected)
        for result in e.results
        for ref in result.evidence
    }
    return stored_photo(web, refs.get(sha256), "该点位的检查记录中没有这张照片。")
