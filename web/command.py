"""指挥中心, the dispatch office: its queue with filters and keyset pages, the district map's markers, the live
stream that keeps both current, and the wall (大屏).

Reads go through store/office_queue.py; why a case is in the queue is domain/office_queue.py's rule.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from rectify.domain.deadlines import Stage
from rectify.domain.office_queue import NEEDS, Need
from rectify.domain.policy import Policy
from rectify.domain.types import OPEN_STATUSES, Channel
from rectify.store import office_queue as q
from rectify.store.projections import CaseRow
from rectify.store.staff import StaffUser
from rectify.web import map_data, present
from rectify.web.access import may_read, may_watch_district, scope_unit
from rectify.web.context import WebError, csrf_guard, render, require_user, web_of
from rectify.web.labels import STAGE, STATUS_ORDER, label, unit_name
from rectify.web.live import Change, LiveHub

router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
PAGE_SIZE = 30
#: A quiet stream sends a comment this often, so proxies keep it open and a gone page is noticed.
KEEPALIVE_SECONDS = 15.0
#: A page is sent at most one change this often, so its lists reload at most once a second.
MIN_GAP_SECONDS = 1.0
OPEN_IN_ORDER = [s for s in STATUS_ORDER if s in {o.value for o in OPEN_STATUSES}]


async def office_user(request: Request) -> StaffUser:
    user = await require_user(request)
    if not may_watch_district(user):
        raise WebError(403, "指挥中心和大屏仅向派遣员、领导和审计督查人员开放。")
    return user


def live_hub(request: Request) -> LiveHub:
    return request.app.state.live


# -- the queue ------------------------------------------------------------------------------------------------
@dataclass
class Chosen:
    """The filters as asked, checked against the city: what was kept, and a note for each one dropped."""

    values: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    where: q.QueueFilter = field(default_factory=q.QueueFilter)
    order: q.Order = q.Order.URGENT


def choose(policy: Policy, grids: set[str], asked: dict[str, str]) -> Chosen:
    chosen = Chosen()
    rungs = {str(r.level) for r in policy.ladder} | {"0"}
    known = {
        "need": ({n.value for n in Need}, "处理事项"),
        "unit": ({u for u in policy.units if policy.units[u].kind.value != "office"}, "责任单位"),
        "category": (set(policy.categories), "问题类别"),
        "grid": (grids, "网格"),
        "channel": ({c.value for c in Channel}, "来源"),
        "status": (set(OPEN_IN_ORDER), "状态"),
        "rung": (rungs, "升级"),
    }
    for name, (allowed, word) in known.items():
        value = asked.get(name, "")
        if value and value not in allowed:
            chosen.notes.append(f"{word}筛选「{value[:40]}」无效，已忽略。")
        elif value:
            chosen.values[name] = value
    v = chosen.values
    chosen.where = q.QueueFilter(
        status=v.get("status"),
        category=v.get("category"),
        lead_unit=v.get("unit"),
        grid_id=v.get("grid"),
        escalation_level=int(v["rung"]) if "rung" in v else None,
        channel=v.get("channel"),
        need=v.get("need"),
    )
    if asked.get("order") == q.Order.NEWEST.value:
        chosen.order = q.Order.NEWEST
        chosen.values["order"] = q.Order.NEWEST.value
    return chosen


def _key_text(key: tuple) -> str:
    parts = [k.isoformat() if isinstance(k, datetime) else k for k in key]
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


def _key(text: str, order: q.Order) -> tuple:
    try:
        parts = json.loads(base64.urlsafe_b64decode(text.encode()))
        if order is q.Order.URGENT:
            urgent, opened, case_id = parts
            return (datetime.fromisoformat(urgent) if urgent else None, datetime.fromisoformat(opened), str(case_id))
        opened, case_id = parts
        return datetime.fromisoformat(opened), str(case_id)
    except (ValueError, TypeError, AttributeError) as error:
        raise WebError(400, "分页参数无效，请从第一页重新浏览。") from error


@dataclass(frozen=True)
class Clock:
    """What the queue shows on the right of a case: which deadline, and the countdown on it."""

    name: str
    countdown: present.Countdown
    due_at: datetime


def clock_of(policy: Policy, item: q.QueueItem, now: datetime) -> Clock | None:
    row = item.row
    if item.need is Need.OVERDUE and row.due_at is not None:
        stage, due = Stage.RECTIFY.value, row.due_at
    elif row.clock_stage and row.clock_due_at:
        stage, due = row.clock_stage, row.clock_due_at
    else:
        return None
    natural = present.is_natural(policy, stage, row.category)
    cd = present.countdown(policy, due, now, natural=natural)
    return Clock(f"{label(STAGE, stage)}时限", cd, due) if cd else None


def request_text(policy: Policy, row: CaseRow) -> str | None:
    if row.extension_pending is not None:
        unit = "小时" if present.is_natural(policy, Stage.RECTIFY.value, row.category) else "工作小时"
        return f"申请延期 {row.extension_pending:g} {unit}"
    return "申请挂起" if row.suspension_pending else None


def tallies(counts: dict[tuple[str, int], int]) -> dict[str, Any]:
    by_need = {n.value: 0 for n in NEEDS}
    rungs: dict[int, int] = {}
    for (need, level), n in counts.items():
        by_need[need] = by_need.get(need, 0) + n
        if need == Need.OVERDUE.value:
            rungs[level] = rungs.get(level, 0) + n
    return {"needs": by_need, "total": sum(by_need.values()), "overdue_rungs": dict(sorted(rungs.items()))}


def _grid_choices(request: Request) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grids by territory, for a select with groups."""
    web = web_of(request)
    groups: dict[str, list[tuple[str, str]]] = {}
    for grid in web.city.router.grids:
        groups.setdefault(grid.territorial_unit, []).append((grid.grid_id, grid.name))
    return [(unit_name(web.policy, unit), items) for unit, items in groups.items()]


@router.get("/command")
async def command(request: Request, after: str = "", partial: str = "") -> Response:
    user = await office_user(request)
    web = web_of(request)
    policy, now = web.policy, web.clock()
    asked = {k: v for k, v in request.query_params.items() if k not in ("after", "partial")}
    chosen = choose(policy, {g.grid_id for g in web.city.router.grids}, asked)
    page = await q.queue_page(
        web.store.pool,
        chosen.where,
        now,
        order=chosen.order,
        after=_key(after, chosen.order) if after else None,
        limit=PAGE_SIZE,
    )
    query = urlencode(chosen.values)
    context: dict[str, Any] = {
        "items": [(item, clock_of(policy, item, now), request_text(policy, item.row)) for item in page.items],
        "filters": chosen.values,
        "query": query,
        "query_rest": urlencode({k: v for k, v in chosen.values.items() if k != "need"}),
        "notes": chosen.notes,
        "more": _key_text(page.next_key) if page.next_key else None,
        "first_page": not after,
    }
    if partial == "items":
        return render(request, "_queue_items.html", context, user=user)
    everything = replace(chosen.where, need=None)
    context |= {"tally": tallies(await q.queue_counts(web.store.pool, everything, now))}
    if partial == "queue":
        return render(request, "_queue.html", context, user=user)
    context |= {
        "needs": [n.value for n in NEEDS],
        "units": [(u.id, u.name) for u in policy.units.values() if u.kind.value != "office"],
        "grids": _grid_choices(request),
        "channels": [c.value for c in Channel],
        "statuses": OPEN_IN_ORDER,
        "ladder": policy.ladder,
    }
    return render(request, "command.html", context, user=user)


# -- the map --------------------------------------------------------------------------------------------------
@router.get("/command/map.json")
async def map_json(request: Request) -> Response:
    user = await office_user(request)
    web = web_of(request)
    points = await q.open_points(web.store.pool, scope_unit(user))
    payload = map_data.encode(points, map_data.origin(web.city.router.bounds))
    payload["legend"] = map_data.legend(web.policy)
    body = map_data.dumps(payload)
    headers = {"cache-control": "no-store", "vary": "accept-encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["content-encoding"] = map_data.compressed(body), "gzip"
    return Response(body, media_type="application/json", headers=headers)


@router.get("/command/pick")
async def pick(request: Request, id: str = "", lon: str = "", lat: str = "") -> Response:
    """A marker's click: the case by its short number and place, opened."""
    user = await office_user(request)
    short = id.strip().lower()
    if len(short) != map_data.SHORT or any(ch not in "0123456789abcdef" for ch in short):
        raise WebError(400, "案件编号无效：应为 8 位十六进制字符。")
    try:
        spot = float(lon or 0), float(lat or 0)
    except ValueError:
        raise WebError(400, "地图位置无效：经度和纬度应为数字。") from None
    case_id = await q.pick(web_of(request).store.pool, short, *spot, scope_unit(user))
    if case_id is None:
        raise WebError(404, f"没有编号以 {short} 开头的案件，或该案件不在您的办理范围内。")
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


# -- the live stream ------------------------------------------------------------------------------------------
def _sse(event: str, data: object, position: int | None = None) -> str:
    head = f"id: {position}\n" if position is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def change_messages(change: Change, user: StaffUser, zero: tuple[float, float]) -> list[str]:
    """A change as the page's events: `markers` for the map, `changed` for the lists; `reload` when too big."""
    if change.rows is None:
        return [_sse("reload", {}, change.position)]
    mine = [r for r in change.rows if may_read(user, r)]
    if not mine:
        return []
    open_ = {s.value for s in OPEN_STATUSES}
    put = [m for r in mine if r.status in open_ and (m := map_data.marker(r, zero))]
    gone = [r.case_id[: map_data.SHORT] for r in mine if r.status not in open_]
    return [
        _sse("markers", {"put": put, "gone": gone}, change.position),
        _sse("changed", {"cases": len(mine)}, change.position),
    ]


@router.get("/command/stream")
async def stream(request: Request) -> Response:
    user = await office_user(request)
    hub = live_hub(request)
    zero = map_data.origin(web_of(request).city.router.bounds)
    subscription = await hub.subscribe()
    last_seen = request.headers.get("last-event-id", "")

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n\n"
            if last_seen.isdigit() and (missed := await hub.catch_up(int(last_seen))) is not None:
                for message in change_messages(missed, user, zero):
                    yield message
            sent_at = 0.0
            while True:
                try:
                    change = await subscription.get(KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if change is None:
                    return
                # At most one message a second per page: what arrives meanwhile is merged, never dropped.
                await asyncio.sleep(max(0.0, sent_at + MIN_GAP_SECONDS - time.monotonic()))
                change = subscription.merged(change)
                if change is None:
                    return
                sent_at = time.monotonic()
                for message in change_messages(change, user, zero):
                    yield message
        finally:
            subscription.close()

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


# -- the wall -------------------------------------------------------------------------------------------------
_WEEKDAYS = "一二三四五六日"


def day_start(policy: Policy, now: datetime) -> datetime:
    """Midnight of `now`'s day in the city's time zone."""
    local = now.astimezone(ZoneInfo(policy.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def day_name(policy: Policy, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(policy.timezone))
    return f"{local.year}年{local.month}月{local.day}日 星期{_WEEKDAYS[local.weekday()]}"


@router.get("/wall")
async def wall(request: Request, partial: str = "") -> Response:
    user = await office_user(request)
    web = web_of(request)
    policy, now = web.policy, web.clock()
    pool = web.store.pool
    figures, loads, rungs = await asyncio.gather(
        q.day_figures(pool, day_start(policy, now), now), q.unit_loads(pool, now), q.latest_rungs(pool, 8)
    )
    context = {
        "figures": figures,
        "loads": loads[:12],
        "load_max": max((u.open for u in loads), default=0),
        "rungs": rungs,
        "today": day_name(policy, now),
        "updated": present.local(policy, now)[-5:],
    }
    template = "_wall_panels.html" if partial == "panels" else "wall.html"
    return render(request, template, context, user=user)
