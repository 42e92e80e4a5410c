"""巡查 on a phone: the inspector's rounds, a round's points with a map, and each point's checklist.

A point's checklist is recorded through the SDK (`record_point`), the round's workflow deciding. The form works when
the signal is bad: web/static/rounds.js keeps it on the phone (localStorage) until the server has answered, and sends
it with the command id made when the form was opened, so a form sent again is answered, not recorded twice. A form
sent without that script posts the same fields and gets the same page with its problems beside each item.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from rectify.client import CaseNotFound, CommandRejected
from rectify.domain import inspection_events as ie
from rectify.domain.inspection import InspectionPoint
from rectify.domain.points import READINESS_LABELS
from rectify.domain.rounds import RoundState, RoundStatus
from rectify.domain.text import TextKind
from rectify.store import inspections
from rectify.store.staff import StaffUser
from rectify.web.accounts import StaffRole, actor_of
from rectify.web.context import WebError, csrf_guard, render, require_user, web_of
from rectify.web.points import TONE, point_category_name
from rectify.web.round_form import COMMAND_ID, read_posted, refusal_words

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
#: Who walks rounds (inspectors); the office reads them.
WALKERS = frozenset({StaffRole.INSPECTOR})
READERS = frozenset({StaffRole.INSPECTOR, StaffRole.DISPATCHER, StaffRole.AUDITOR, StaffRole.LEADER})
ROUND_STATUS = {RoundStatus.OPEN: "进行中", RoundStatus.COMPLETED: "已完成", RoundStatus.EXPIRED: "已过期"}
ROUND_KIND = {"team": "督查组日常巡查", "duty": "值班领导巡查", "spot": "专项巡查"}
#: The header the page's script sends: it wants the answer as JSON, not a page.
SCRIPTED = "x-round-form"


async def _reader(request: Request) -> StaffUser:
    user = await require_user(request)
    if StaffRole(user.role) not in READERS:
        raise WebError(403, "巡查页面供督查人员、指挥中心、区领导和审计人员使用。")
    return user


async def _round(request: Request, round_id: str) -> RoundState:
    try:
        return await web_of(request).client.round(round_id)
    except CaseNotFound:
        raise WebError(404, "没有这一轮巡查。") from None


@router.get("/rounds")
async def rounds(request: Request) -> Response:
    user = await _reader(request)
    web = web_of(request)
    unit = user.unit_id if user.role == StaffRole.INSPECTOR else None
    open_rows = await web.client.rounds(unit=unit, status=RoundStatus.OPEN.value, limit=50)
    done_rows = [r for r in await web.client.rounds(unit=unit, limit=30) if r.status != RoundStatus.OPEN.value]
    context: dict[str, Any] = {
        "open_rows": sorted(open_rows, key=lambda r: r.due_at),
        "done_rows": done_rows[:10],
        "statuses": ROUND_STATUS,
        "kinds": ROUND_KIND,
    }
    return render(request, "rounds.html", context, user=user)


@router.get("/rounds/{round_id}")
async def round_page(request: Request, round_id: str, done: str = "") -> Response:
    user = await _reader(request)
    web = web_of(request)
    state = await _round(request, round_id)
    board = {r.point.point_id: r for r in await web.client.battle_map()}
    points = [(p, web.city.points.get(p.point_id), board.get(p.point_id)) for p in state.points]
    context: dict[str, Any] = {
        "round": state,
        "points": points,
        "may_walk": _may_walk(user, state),
        "statuses": ROUND_STATUS,
        "kinds": ROUND_KIND,
        "tone": TONE,
        "levels": READINESS_LABELS,
        "done": web.city.points[done].name if done in web.city.points else None,
        "category_name": point_category_name,
    }
    return render(request, "round.html", context, user=user)


def _may_walk(user: StaffUser, state: RoundState) -> bool:
    return StaffRole(user.role) in WALKERS and user.unit_id == state.inspector_unit and state.status is RoundStatus.OPEN


def _point_on(request: Request, state: RoundState, point_id: str) -> InspectionPoint:
    point = web_of(request).city.points.get(point_id)
    if point is None or point_id not in {p.point_id for p in state.points}:
        raise WebError(404, "本轮巡查没有这个点位。")
    return point


def _form_context(state: RoundState, point: InspectionPoint, request: Request, **extra: Any) -> dict[str, Any]:
    policy = web_of(request).policy
    return {
        "round": state,
        "point": point,
        "category": policy.inspection.point_categories[point.category],
        "category_name": point_category_name,
        "command_id": str(uuid.uuid4()),
        "values": {},
        "errors": {},
        "alert": None,
        "rule": None,
        "recorded": point.point_id in state.recorded,
        "note_limit": policy.text_limits()[TextKind.NOTE],
    } | extra


@router.get("/rounds/{round_id}/points/{point_id}")
async def point_form(request: Request, round_id: str, point_id: str) -> Response:
    user = await _reader(request)
    state = await _round(request, round_id)
    point = _point_on(request, state, point_id)
    context = _form_context(state, point, request, may_walk=_may_walk(user, state))
    return render(request, "round_point.html", context, user=user)


async def _already_mine(request: Request, point_id: str, command_id: str) -> bool:
    """Was this form's command recorded already (its answer lost to the signal)? Its point record says so."""
    events = await inspections.point_records(web_of(request).store.pool, point_id)
    return any(isinstance(e, ie.PointInspected) and e.causation_id == f"{command_id}/point" for e in events)


@router.post("/rounds/{round_id}/points/{point_id}")
async def record(request: Request, round_id: str, point_id: str) -> Response:
    user = await _reader(request)
    web = web_of(request)
    scripted = request.headers.get(SCRIPTED) == "1"
    state = await _round(request, round_id)
    point = _point_on(request, state, point_id)
    form = await request.form()
    command_id = str(form.get("command_id") or "")
    done = f"/rounds/{round_id}?done={point_id}#pt-{point_id}"

    def answer(status: int, **extra: Any) -> Response:
        if scripted:
            body = {"errors": extra.get("errors", {}), "alert": extra.get("alert"), "rule": extra.get("rule")}
            return JSONResponse(body, status_code=status)
        context = _form_context(state, point, request, may_walk=True, **extra)
        return render(request, "round_point.html", context, status=status, user=user)

    actor = actor_of(user)
    if not _may_walk(user, state) or actor is None:
        if state.status is not RoundStatus.OPEN and await _already_mine(request, point_id, command_id):
            return _recorded(scripted, done)
        words = "本轮巡查已结束（已完成或已过期），不再接受记录。"
        if state.status is RoundStatus.OPEN:
            words = "只有执行本轮巡查的督查人员可以记录检查结果。"
        return answer(409 if state.status is not RoundStatus.OPEN else 403, alert=words, rule="not_authorised")
    if not COMMAND_ID.match(command_id):
        return answer(400, alert="表单缺少提交编号，请刷新页面后重新填写。", rule="invalid_command")
    category = web.policy.inspection.point_categories[point.category]
    posted = await read_posted(form, category, web.policy, web.evidence)
    if posted.errors:
        alert = f"有 {len(posted.errors)} 处需要修改，见各检查项下的提示。"
        return answer(422, errors=posted.errors, values=posted.values, alert=alert, command_id=command_id)
    try:
        await web.client.record_point(round_id, point_id, actor, posted.answers, command_id=command_id)
    except CommandRejected as rejected:
        if rejected.rule == "wrong_status" and await _already_mine(request, point_id, command_id):
            return _recorded(scripted, done)
        words = refusal_words(rejected, state, web.policy, point.name)
        return answer(409, values=posted.values, alert=words, rule=rejected.rule, command_id=command_id)
    return _recorded(scripted, done)


def _recorded(scripted: bool, to: str) -> Response:
    if scripted:
        return JSONResponse({"ok": True, "redirect": to})
    return RedirectResponse(to, status_code=303)
